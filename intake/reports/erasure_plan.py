"""An erasure, planned: from what was gathered about one address, which rows go and which
columns are rewritten. What they sent goes (messages, what we sent them, their drafts,
confirmations and sign-in records); every entry they are the contact or nominee of stays
counted with its people marked erased; every other row that mentions them has them
replaced. A name that is also another person's own (their entry's contact name) is left
in that person's fields. Pure: `Gathered` in, `ErasurePlan` out (the store writes it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from intake.campaign.definition import Campaign
from intake.models import (
    AuditEntry,
    Base,
    Confirmation,
    Enquiry,
    InboundMessage,
    IncompleteSubmission,
    Nomination,
    OutboundMessage,
    SignInLink,
    Submission,
    TeamSession,
    UnreachableAddress,
)
from intake.reports.personal_fields import (
    erased_enquiry,
    erased_nomination,
    erased_submission,
)
from intake.reports.personal_holdings import Gathered
from intake.reports.redaction import (
    ERASED,
    Identifiers,
    message_text,
    scrub_json,
    scrub_raw,
)

# In another person's own fields a name is theirs: left alone there.
OWN_NAME_KEYS = frozenset({"contact_name", "name"})


@dataclass
class ErasurePlan:
    delete: dict[type[Base], set[Any]] = field(default_factory=dict)
    rewrite: dict[type[Base], dict[Any, dict[str, Any]]] = field(default_factory=dict)
    entries: list[str] = field(default_factory=list)  # references whose people were marked erased
    kept_names: set[str] = field(default_factory=set)  # names that are someone else's too

    def remove(self, model: type[Base], key: Any) -> None:
        self.delete.setdefault(model, set()).add(key)

    def change(self, model: type[Base], key: Any, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Record only the columns whose value changes."""
        values = {name: value for name, value in new.items() if old.get(name) != value}
        if values:
            self.rewrite.setdefault(model, {}).setdefault(key, {}).update(values)

    @property
    def tables(self) -> set[str]:
        return {model.__tablename__ for model in [*self.delete, *self.rewrite]}

    def counts(self) -> dict[str, int]:
        """Rows removed and rewritten, by table."""
        counts = {f"{m.__tablename__} removed": len(keys) for m, keys in self.delete.items() if keys}
        counts |= {f"{m.__tablename__} rewritten": len(rows) for m, rows in self.rewrite.items() if rows}
        return counts

    def searched_for(self, who: Identifiers) -> Identifiers:
        """What must be gone from the database's files afterwards: a name someone else
        still holds as their own stays."""
        names = tuple(n for n in who.names if n.lower() not in {k.lower() for k in self.kept_names})
        return Identifiers(who.address, names, who.phones, who.slack_users)


def _is(value: str | None, address: str) -> bool:
    return (value or "").strip().lower() == address


def plan_erasure(gathered: Gathered, campaign: Campaign) -> ErasurePlan:
    plan = ErasurePlan()
    who, direct = gathered.who, gathered.direct
    gone = {m.id for m in gathered.sent()}
    for key in gone:
        plan.remove(InboundMessage, key)
    _entries(plan, gathered, campaign)
    for link in direct.sign_in_links:
        plan.remove(SignInLink, link.id)
    for session in direct.sessions:
        plan.remove(TeamSession, session.token_hash)
    _messages(plan, gathered, gone)
    _outbound(plan, gathered, gone)
    _confirmations(plan, gathered, gone)
    _drafts_and_questions(plan, gathered)
    own = set(plan.entries)
    for row in _rows(gathered, AuditEntry, direct.audit):
        about_them = row.reference in own or row.inbound_id in gone or _is(row.actor, who.address)
        detail = scrub_json(row.detail or {}, who, keep_names_under=frozenset() if about_them else OWN_NAME_KEYS)
        plan.change(AuditEntry, row.id, {"actor": row.actor, "detail": row.detail},
                    {"actor": ERASED if who.found_in(row.actor) else row.actor, "detail": detail})
    for note in _rows(gathered, UnreachableAddress, direct.unreachable):
        if _is(note.address, who.address):
            plan.remove(UnreachableAddress, note.address)
        else:
            plan.change(UnreachableAddress, note.address, {"noted_by": note.noted_by, "reason": note.reason},
                        {"noted_by": ERASED if _is(note.noted_by, who.address) else note.noted_by,
                         "reason": who.replace(note.reason or "")})
    return plan


def _rows(gathered: Gathered, model: type[Base], own: list[Any]) -> list[Any]:
    """The rows naming them and those mentioning them, each once."""
    found = {id(row): row for row in [*own, *gathered.mentioning(model)]}
    return list(found.values())


def _entries(plan: ErasurePlan, gathered: Gathered, campaign: Campaign) -> None:
    who = gathered.who
    names = {n.lower() for n in who.names}
    for s in _rows(gathered, Submission, gathered.direct.submissions):
        old = {"contact_name": s.contact_name, "contact_email": s.contact_email, "sender": s.sender, "fields": s.fields}
        if _is(s.contact_email, who.address):
            # Sent by a colleague, the entry keeps who sent it: that is the colleague's.
            kept_sender = {} if _is(s.sender, who.address) else {"sender": s.sender}
            plan.change(Submission, s.id, old, {**erased_submission(s, campaign, who), **kept_sender})
            plan.entries.append(s.reference)
            continue
        if " ".join((s.contact_name or "").split()).lower() in names:
            plan.kept_names.add(s.contact_name)  # another person of the same name: theirs stays
        fields = scrub_json(s.fields or {}, who, keep_names_under=OWN_NAME_KEYS)
        plan.change(Submission, s.id, old, {"sender": None if _is(s.sender, who.address) else s.sender, "fields": fields})
    for n in _rows(gathered, Nomination, gathered.direct.nominations):
        named = " ".join((n.name or "").split()).lower() in names
        if _is(n.email, who.address) or (named and not n.email):
            kept_sender = {} if _is(n.sender, who.address) else {"sender": n.sender}
            plan.change(Nomination, n.id, {"name": n.name, "email": n.email, "sender": n.sender},
                        {**erased_nomination(), **kept_sender})
            plan.entries.append(n.reference)
        else:
            if named:
                plan.kept_names.add(n.name)
            plan.change(Nomination, n.id, {"sender": n.sender},
                        {"sender": None if _is(n.sender, who.address) else n.sender})
    plan.entries = sorted(set(plan.entries))


def _messages(plan: ErasurePlan, gathered: Gathered, gone: set[int]) -> None:
    """Others' messages that mention them: rewritten without them, their attachments
    (which cannot be searched) taken out."""
    who = gathered.who
    for m in gathered.mentioning(InboundMessage):
        if m.id in gone:
            continue
        plan.change(InboundMessage, m.id, {
            "raw": m.raw, "subject": m.subject, "meta": m.meta, "detail": m.detail, "authentication": m.authentication,
        }, {
            "raw": scrub_raw(m.raw or b"", who, drop_attachments=True) if who.found_in(_text(m.raw)) else m.raw,
            "subject": who.replace(m.subject or ""), "meta": scrub_json(m.meta or {}, who),
            "detail": who.replace(m.detail) if m.detail else m.detail,
            "authentication": scrub_json(m.authentication, who) if m.authentication else m.authentication,
        })


def _text(raw: bytes | None) -> str:
    return message_text(raw or b"")


def _to_them(row: OutboundMessage, who: Identifiers, gone: set[int]) -> bool:
    recipient = (row.recipient or "").strip()
    return (row.inbound_id in gone or recipient.lower() == who.address
            or recipient.rpartition(":")[2] in who.slack_users)


def _outbound(plan: ErasurePlan, gathered: Gathered, gone: set[int]) -> None:
    who = gathered.who
    for row in _rows(gathered, OutboundMessage, gathered.direct.outbound):
        if _to_them(row, who, gone):
            plan.remove(OutboundMessage, row.id)
            continue
        key = row.send_key
        if key and who.found_in(key):
            key = f"erased:{row.id}"  # still unique, and still recorded as sent
        plan.change(OutboundMessage, row.id, {
            "body": row.body, "subject": row.subject, "send_key": row.send_key, "error": row.error,
        }, {
            "body": scrub_raw(row.body or b"", who) if who.found_in(_text(row.body)) else row.body,
            "subject": who.replace(row.subject or ""), "send_key": key,
            "error": who.replace(row.error) if row.error else row.error,
        })


def _confirmations(plan: ErasurePlan, gathered: Gathered, gone: set[int]) -> None:
    who = gathered.who
    for c in _rows(gathered, Confirmation, gathered.direct.confirmations):
        if (_is(c.contact, who.address) or _is(c.requester, who.address) or c.inbound_id in gone
                or c.confirmed_by in gone):
            plan.remove(Confirmation, c.id)
        else:
            plan.change(Confirmation, c.id, {"summary": c.summary}, {"summary": who.replace(c.summary or "")})


def _drafts_and_questions(plan: ErasurePlan, gathered: Gathered) -> None:
    who = gathered.who
    for d in _rows(gathered, IncompleteSubmission, gathered.direct.drafts):
        if _is(d.sender, who.address):
            plan.remove(IncompleteSubmission, d.id)
        else:
            plan.change(IncompleteSubmission, d.id, {"fields": d.fields},
                        {"fields": scrub_json(d.fields or {}, who, keep_names_under=OWN_NAME_KEYS)})
    for e in _rows(gathered, Enquiry, gathered.direct.enquiries):
        old = {"sender": e.sender, "text": e.text, "answer": e.answer, "handled_by": e.handled_by}
        new = erased_enquiry(e) if _is(e.sender, who.address) else {
            "text": who.replace(e.text or ""), "answer": who.replace(e.answer) if e.answer else e.answer}
        new["handled_by"] = ERASED if _is(e.handled_by, who.address) else e.handled_by
        plan.change(Enquiry, e.id, old, new)

