"""What is held about one address: the identifiers tied to it (names, phone numbers,
Slack user ids, read from the rows that name the address), the tests that find the other
rows mentioning them, and `Holdings`, the plain account `cib personal-data find`, the
workspace and the subject-access export show. Pure: rows in, data out."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from intake.campaign.definition import Campaign
from intake.campaign.register import CouncilRegister
from intake.models import (
    AuditEntry,
    Base,
    Confirmation,
    Enquiry,
    InboundMessage,
    IncompleteSubmission,
    Nomination,
    OutboundMessage,
    Submission,
    UnreachableAddress,
)
from intake.reports.personal_fields import is_erased
from intake.reports.redaction import (
    Identifiers,
    addresses_and_names,
    identifiers_from,
    json_mentions,
    message_text,
    personal_name,
)

if TYPE_CHECKING:
    from intake.store.personal_rows import Direct

# The tables other rows may mention someone in (sign-in records name only their own address).
SCANNED: tuple[type[Base], ...] = (
    InboundMessage, Submission, Nomination, IncompleteSubmission, Enquiry, OutboundMessage, AuditEntry,
    Confirmation, UnreachableAddress,
)


@dataclass
class Gathered:
    """The rows naming the address, the identifiers read from them, and the other rows
    (by model) that mention any of those identifiers."""

    direct: Direct
    who: Identifiers
    mentions: dict[type[Base], list[Any]] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.who.address

    def sent(self) -> list[InboundMessage]:
        """What they sent: by their address, or by their Slack user before it was known."""
        return self.direct.inbound + [m for m in self.mentions.get(InboundMessage, []) if slack_user_of(m, self.who)]

    def mentioning(self, model: type[Base]) -> list[Any]:
        return self.mentions.get(model, [])


def slack_user_of(row: InboundMessage, who: Identifiers) -> bool:
    """A Slack message of theirs whose sender was never established (the profile lookup failed)."""
    return row.channel == "slack" and not row.sender and (row.meta or {}).get("slack_user") in who.slack_users


def identifiers_of(direct: Direct) -> Identifiers:
    """The names tied to the address (as an entry's contact, as a nominee, in their From
    header), the phone numbers in what they sent, and their Slack user ids."""
    address = direct.address
    names = [s.contact_name for s in direct.submissions if (s.contact_email or "").lower() == address]
    names += [n.name for n in direct.nominations if (n.email or "").lower() == address]
    texts: list[str] = []
    slack: list[str] = []
    for message in direct.inbound:
        names += [name for name, said in addresses_and_names(message.raw or b"") if said == address
                  and personal_name(name)]
        texts += [message_text(message.raw or b""), json.dumps(message.meta or {}, ensure_ascii=False)]
        if message.channel == "slack":
            slack.append(str((message.meta or {}).get("slack_user") or ""))
    texts += [json.dumps(s.fields or {}, ensure_ascii=False) for s in direct.submissions
              if (s.contact_email or "").lower() == address]
    return identifiers_from(address, names=names, texts=texts, slack_users=slack)


def mention_test(model: type[Base], who: Identifiers) -> Callable[[Any], bool]:
    """Whether a row of `model` mentions any of `who`'s identifiers anywhere it holds text."""
    columns: dict[type[Base], Callable[[Any], Iterable[Any]]] = {
        InboundMessage: lambda r: (r.sender, r.subject, r.meta, r.detail, r.authentication),
        Submission: lambda r: (r.contact_name, r.contact_email, r.sender, r.fields),
        Nomination: lambda r: (r.name, r.email, r.sender),
        IncompleteSubmission: lambda r: (r.sender, r.fields),
        Enquiry: lambda r: (r.sender, r.text, r.answer, r.handled_by),
        OutboundMessage: lambda r: (r.recipient, r.subject, r.send_key, r.error),
        AuditEntry: lambda r: (r.actor, r.detail),
        Confirmation: lambda r: (r.contact, r.requester, r.summary),
        UnreachableAddress: lambda r: (r.address, r.noted_by, r.reason),
    }
    values = columns[model]
    raw = {InboundMessage: "raw", OutboundMessage: "body"}.get(model)

    def test(row: Any) -> bool:
        if json_mentions([v for v in values(row) if v not in (None, "")], who):
            return True
        if model is InboundMessage and slack_user_of(row, who):
            return True
        return raw is not None and who.found_in(message_text(getattr(row, raw) or b""))

    return test


# --- the account of what is held ------------------------------------------------------


@dataclass
class Holdings:
    """What is held about one address, where, and since when; no message bodies."""

    address: str
    names: list[str]
    phones: list[str]
    slack_users: list[str]
    entries: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    confirmations: list[dict[str, Any]] = field(default_factory=list)
    drafts: list[dict[str, Any]] = field(default_factory=list)
    enquiries: list[dict[str, Any]] = field(default_factory=list)
    sign_in: list[dict[str, Any]] = field(default_factory=list)
    unreachable: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any((self.entries, self.messages, self.replies, self.audit, self.confirmations, self.drafts,
                        self.enquiries, self.sign_in, self.unreachable))

    def counts(self) -> dict[str, int]:
        return {
            "entries": len(self.entries), "messages": len(self.messages), "replies sent": len(self.replies),
            "audit entries": len(self.audit), "confirmations": len(self.confirmations),
            "incomplete drafts": len(self.drafts), "questions": len(self.enquiries),
            "sign-in records": len(self.sign_in), "unreachable notes": len(self.unreachable),
            "Slack identities": len(self.slack_users),
        }


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _unique(rows: Iterable[Any], key: Callable[[Any], Any]) -> list[Any]:
    seen: dict[Any, Any] = {}
    for row in rows:
        seen.setdefault(key(row), row)
    return [seen[k] for k in sorted(seen)]


def holdings(gathered: Gathered, campaign: Campaign, councils: CouncilRegister) -> Holdings:
    """The account of everything `gathered` found, each row once."""
    direct, who = gathered.direct, gathered.who
    held = Holdings(who.address, list(who.names), list(who.phones), list(who.slack_users))

    def both(model: type[Base], own: list[Any]) -> list[Any]:
        """The rows naming the address and those mentioning it, each once, by id."""
        return _unique([*own, *gathered.mentioning(model)], lambda r: r.id)

    held.entries = [_entry(s, who, campaign, councils) for s in both(Submission, direct.submissions)]
    held.entries += [_nomination(n, who, campaign) for n in both(Nomination, direct.nominations)]
    sent = {m.id for m in gathered.sent()}
    held.messages = [
        {"id": m.id, "channel": m.channel, "received_at": _at(m.received_at), "subject": m.subject,
         "from_them": m.id in sent, "status": m.status, "kind": m.classification}
        for m in both(InboundMessage, direct.inbound)
    ]
    held.replies = [
        {"id": o.id, "kind": o.kind, "channel": o.channel, "to": o.recipient, "subject": o.subject,
         "status": o.status, "created_at": _at(o.created_at), "sent_at": _at(o.sent_at)}
        for o in both(OutboundMessage, direct.outbound)
    ]
    held.audit = [
        {"id": a.id, "at": _at(a.at), "actor": a.actor, "action": a.action, "reference": a.reference}
        for a in both(AuditEntry, direct.audit)
    ]
    held.confirmations = [
        {"id": c.id, "reference": c.reference or c.target, "status": c.status, "created_at": _at(c.created_at),
         "as": "contact on record" if (c.contact or "").lower() == who.address else "asked by"
               if (c.requester or "").lower() == who.address else "mentioned"}
        for c in both(Confirmation, direct.confirmations)
    ]
    held.drafts = [{"id": d.id, "offer": campaign.title_of(d.offer), "created_at": _at(d.created_at), "status": d.status}
                   for d in both(IncompleteSubmission, direct.drafts)]
    held.enquiries = [{"id": e.id, "received_at": _at(e.received_at), "channel": e.channel,
                       "answered": e.answer is not None} for e in both(Enquiry, direct.enquiries)]
    held.sign_in = [{"kind": "sign-in link", "created_at": _at(link.created_at), "expires_at": _at(link.expires_at),
                     "used_at": _at(link.used_at)} for link in direct.sign_in_links]
    held.sign_in += [{"kind": "session", "created_at": _at(s.created_at), "expires_at": _at(s.expires_at),
                      "ended_at": _at(s.ended_at)} for s in direct.sessions]
    held.unreachable = [{"noted_at": _at(u.noted_at), "noted_by": u.noted_by}
                        for u in both(UnreachableAddress, direct.unreachable)]
    return held


def _entry(s: Submission, who: Identifiers, campaign: Campaign, councils: CouncilRegister) -> dict[str, Any]:
    council = councils.get(s.council_code)
    role = ("contact" if (s.contact_email or "").lower() == who.address
            else "sender" if (s.sender or "").lower() == who.address else "mentioned")
    return {"reference": s.reference, "kind": "expression of interest", "what": campaign.title_of(s.offer),
            "council": council.name if council else s.council_code, "as": role, "status": s.status,
            "decision": s.decision, "received_at": _at(s.received_at), "erased": is_erased(s)}


def _nomination(n: Nomination, who: Identifiers, campaign: Campaign) -> dict[str, Any]:
    role = ("nominee" if (n.email or "").lower() == who.address
            else "sender" if (n.sender or "").lower() == who.address else "mentioned")
    return {"reference": n.reference, "kind": "nomination",
            "what": f"{campaign.nomination.role_title(n.role)}, {n.region}", "council": n.council_code or "",
            "as": role, "status": "current" if n.current else "replaced", "decision": None,
            "received_at": _at(n.received_at), "erased": is_erased(n)}
