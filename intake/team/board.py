"""What the team's workspace shows, read from the store in one transaction per page:
the overview (the digest's figures, as of now), the entries with filters, one entry in
full, and everything that needs a person. Plain data; the pages only lay it out."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from intake.reports import digest as digests
from intake.campaign.definition import Campaign
from intake.campaign.register import CouncilRegister
from intake.jobs.digest_job import read_facts
from intake.models import AuditEntry, InboundMessage, Nomination, OutboundMessage, Submission
from intake.reports.reply_data import display, when
from intake.service import IntakeService

FILTERS = ("q", "kind", "offer", "region", "status", "verified", "late", "decision")

# The audit trail's actions and the replies' kinds as the team reads them; anything not
# named here is shown with its dashes and underscores as spaces, never as a raw key.
ACTIONS = {
    "created": "recorded", "nominated": "nominated", "amended": "changed", "superseded": "replaced",
    "withdrawn": "withdrawn", "verified": "verified", "rejected": "rejected", "decided": "decided",
    "held": "change held for confirmation", "confirmed": "change confirmed", "declined": "change declined",
    "answered": "answered", "handled": "marked as handled", "ran-again": "run again", "closed": "closed",
    "late-accepted": "accepted although late", "send-again": "sent again", "unreachable": "noted as unreachable",
}
DETAILS = {
    "by": "by", "via": "via", "late": "late", "verified": "verified", "decision": "decision", "place": "place",
    "note": "note", "reason": "reason", "region": "region", "role": "role", "name": "name", "changes": "changed",
    "summary": "change", "requester": "asked by", "contact": "contact on record", "sender": "sender check",
    "answer": "answer", "to": "to", "address": "address", "offer": "offer", "council": "council",
    "told": "also told",
}
REPLY_KINDS = {
    "ack": "acknowledgement", "missing": "what is missing", "amended": "change recorded", "answer": "answer",
    "enquiry": "question received", "form": "form", "help": "help", "leads": "regional leads", "status": "status",
    "deadline": "deadline", "deadlines": "deadlines", "decision": "decision", "verified": "verified",
    "rejected": "rejected", "withdrawn": "withdrawn", "refused": "refused", "held": "change held",
    "confirm_request": "confirmation request", "confirmed": "change confirmed", "confirm_declined": "change declined",
    "confirm_expired": "confirmation lapsed", "confirm_unknown": "confirmation not found",
    "confirm_used": "confirmation already used", "confirm_unclear": "reply was not a yes",
    "team_refused": "change refused by the team", "late_accepted": "accepted although late",
    "in_channel": "note in the channel", "sign-in": "sign-in link", "reminder": "reminder", "digest": "digest",
}


def words(key: str) -> str:
    return key.replace("_", " ").replace("-", " ")


def action_words(action: str) -> str:
    return ACTIONS.get(action, words(action))


def reply_kind(kind: str) -> str:
    """An outbound row's kind ("reply-ack", "reminder") as words ("acknowledgement")."""
    key = kind.removeprefix("reply-")
    return REPLY_KINDS.get(key, words(key))


def _value(key: str, value: Any, campaign: Campaign, councils: CouncilRegister) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "role":
        return campaign.nomination.role_title(str(value))
    if key == "offer":
        return campaign.title_of(str(value))
    if key == "council":
        council = councils.get(str(value))
        return council.name if council else str(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v not in ("", None))
    return str(value)


def field_titles(campaign: Campaign) -> dict[str, str]:
    """Every offer's field keys with their titles (a change named by key reads by title)."""
    return {spec.key: spec.title for offer in campaign.offers for spec in campaign.fields_for(offer)}


def detail_words(
    detail: dict[str, Any] | None, campaign: Campaign, councils: CouncilRegister, titles: dict[str, str]
) -> str:
    """An audit entry's detail as "verified: no; place: 1" (the fields it recorded are
    on the page already; a change reads "Contact name: old → new")."""
    parts = []
    for key, value in (detail or {}).items():
        if key == "fields" or value in ("", None, [], {}):
            continue
        if key == "changes" and isinstance(value, dict):
            value = "; ".join(f"{titles.get(k, words(k))}: {_change(v)}" for k, v in value.items())
        parts.append(f"{DETAILS.get(key, words(key))}: {_value(key, value, campaign, councils)}")
    return "; ".join(parts)


def _change(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2:
        return " → ".join(_shown(side) for side in value)
    return str(value)


def _shown(value: Any) -> str:
    """One side of a change: a field set for the first time, or emptied, was "(none)"."""
    if value in ("", None, []):
        return "(none)"
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


async def overview(service: IntakeService, now: datetime) -> dict[str, Any]:
    """The digest's figures over the last day, with the decisions taken per offer."""
    facts = await read_facts(service.store, now, since=now - timedelta(days=1))
    context = digests.digest_context(facts, service.campaign, service.councils, service.intake_address)
    active = [s for s in facts.submissions if s.status == "active"]
    for offer in context["offers"]:
        mine = [s for s in active if s.offer == offer["key"]]
        offer["accepted"] = sum(1 for s in mine if s.decision == "accepted")
        offer["waitlisted"] = sum(1 for s in mine if s.decision == "waitlisted")
        offer["undecided"] = sum(1 for s in mine if not s.decision)
    waiting = await needs(service, now, read=(facts.submissions, facts.nominations))
    context["needs"] = {key: len(rows) for key, rows in waiting.items()}
    context["needs_total"] = sum(context["needs"].values())
    return context


async def entries(service: IntakeService) -> list[dict[str, Any]]:
    """Every submission and current nomination, newest first, as the exports describe them."""
    data = await service.listed_records()
    rows = [{**s, "kind": "submission"} for s in data["submissions"]]
    rows += [{**n, "kind": "nomination", "status": "active"} for n in data["nominations"]]
    campaign = service.campaign
    for row in rows:
        row["received"] = when(datetime.fromisoformat(row["received_at"]), campaign)
        row["what"] = (campaign.title_of(row["offer"]) if row["kind"] == "submission"
                       else f"Nomination: {campaign.nomination.role_title(row['role'])}")
    return sorted(rows, key=lambda r: r["received_at"], reverse=True)


def matching(rows: list[dict[str, Any]], chosen: dict[str, str]) -> list[dict[str, Any]]:
    """The rows the filters allow; `q` searches reference, council, names and addresses."""
    def keep(row: dict[str, Any]) -> bool:
        for key in FILTERS:
            value = (chosen.get(key) or "").strip()
            if not value:
                continue
            if key == "q":
                haystack = " ".join(str(row.get(k) or "") for k in (
                    "reference", "council", "contact_name", "contact_email", "name", "email", "sender", "region"))
                if value.lower() not in haystack.lower():
                    return False
            elif key in ("verified", "late"):
                if bool(row.get(key)) != (value == "yes"):
                    return False
            elif key == "decision":
                if (row.get("decision") or "none") != value:
                    return False
            elif str(row.get(key) or "") != value:
                return False
        return True

    return [row for row in rows if keep(row)]


@dataclass
class EntryView:
    reference: str
    kind: str  # submission | nomination
    records: list[dict[str, Any]]
    trail: list[AuditEntry]
    messages: list[InboundMessage]  # the messages that made or changed it
    replies: list[OutboundMessage]  # what we sent about it
    fields: list[tuple[str, str]] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)  # each detail once, in words
    history: list[dict[str, Any]] = field(default_factory=list)  # the audit trail, in words
    sent: list[dict[str, Any]] = field(default_factory=list)  # the replies, their kinds in words


async def entry(service: IntakeService, reference: str) -> EntryView | None:
    reference = reference.strip().upper()
    data = await service.records_of(reference)
    found = [s for s in data["submissions"] if s["reference"] == reference]
    kind = "submission"
    if not found:
        found = [n for n in data["nominations"] if n["reference"] == reference]
        kind = "nomination"
    if not found:
        return None
    for row in found:
        row["received"] = when(datetime.fromisoformat(row["received_at"]), service.campaign)
    async with service.store.reader() as unit:
        trail = await unit.audit.trail(reference)
        ids = {e.inbound_id for e in trail if e.inbound_id is not None}
        if kind == "submission":
            submission = await unit.submissions.by_reference(reference)
            if submission is not None and submission.inbound_id is not None:
                ids.add(submission.inbound_id)
        else:
            ids |= {n.inbound_id for n in await unit.nominations.by_reference(reference) if n.inbound_id is not None}
        messages = [m for m in [await unit.inbound.get(i) for i in sorted(ids)] if m is not None]
        replies = await unit.outbound.for_inbound(sorted(ids))
    view = EntryView(reference, kind, found, trail, messages, replies)
    campaign, first = service.campaign, found[0]
    titles: dict[str, str] = {}
    if kind == "submission":
        offer = campaign.offer(first["offer"])
        specs = campaign.fields_for(offer)
        titles = {spec.key: spec.title for spec in specs}
        view.fields = [(spec.title, display(spec, first["fields"].get(spec.key), service.councils)) for spec in specs]
        view.details = [("Offer", offer.title)]
        for spec, shown in zip(specs, view.fields):
            view.details.append(shown)
            if spec.type == "council":  # the region the council is in, beside it
                view.details.append(("Region", first["region"] or ""))
    else:
        view.details = [("Region", first["region"])] + [
            (campaign.nomination.role_title(n["role"]),
             ", ".join(filter(None, [n["name"], n["council"] or "", n["email"] or ""])))
            for n in found
        ]
    view.details += [
        ("Sent by", f"{first['sender'] or 'unknown sender'} by {first['channel']}"),
        ("Sender check", first["sender_authentication"] or ""),
        ("Received", first["received"]),
    ]
    view.history = [
        {"at": when(e.at, campaign), "actor": e.actor or "", "action": action_words(e.action),
         "detail": detail_words(e.detail, campaign, service.councils, titles)}
        for e in trail
    ]
    view.sent = [
        {"subject": r.subject or "", "recipient": r.recipient, "kind": reply_kind(r.kind), "status": r.status,
         "error": r.error or ""}
        for r in replies
    ]
    return view


async def needs(
    service: IntakeService, now: datetime, *, read: tuple[list[Submission], list[Nomination]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Everything waiting for a person, each list whole (no caps: this is where the
    digest's "and 86 more" are). `read`: the submissions and nominations, when the caller
    has just read them (the overview), so they are not read twice."""
    campaign = service.campaign
    names = digests.Names.of(campaign, service.councils)
    async with service.store.reader() as unit:
        submissions, nominations = read or (await unit.submissions.all(), await unit.nominations.all())
        enquiries = await unit.enquiries.waiting()
        unprocessed = await unit.inbound.needing_attention()
        held = await unit.confirmations.pending()
        failed = await unit.outbound.failed()
        drafts = await unit.drafts.all_open()
        bounces = await unit.inbound.bounces()
    readers = service.channels.readers
    bounced = {b.id: list(readers[b.channel](b).bounced) if b.channel in readers else [] for b in bounces}
    current = [n for n in nominations if n.current]
    return {
        "unverified": digests.unverified(submissions, [], names)
        + _each_nomination_once([n for n in current if not n.verified], names, campaign),
        "enquiries": [
            {"id": e.id, "sender": e.sender or "unknown sender", "channel": e.channel, "text": e.text,
             "received": when(e.received_at, campaign), "about": about}
            for e, about in enquiries
        ],
        "stuck": digests.stuck(unprocessed, now, campaign),
        "drafts": [
            {"id": d.id, "inbound_id": d.inbound_id, "offer": names.offer(d.offer), "sender": d.sender or "unknown sender",
             "channel": d.channel, "created": when(d.created_at, campaign),
             "fields": ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in (d.fields or {}).items() if v not in ("", None, []))}
            for d in drafts
        ],
        "held": digests.awaiting(held, now, campaign),
        "late": digests.late([s for s in submissions if not s.late_accepted], [], names, campaign)
        + _each_nomination_once([n for n in current if n.late and not n.late_accepted], names, campaign),
        "failed": [
            {"id": o.id, "recipient": o.recipient, "channel": o.channel, "subject": o.subject,
             "error": o.error or "", "attempts": o.attempts, "created": when(o.created_at, campaign)}
            for o in failed
        ],
        "bounces": [
            {"id": b.id, "sender": b.sender or "unknown sender", "subject": b.subject or "(no subject)",
             "received": when(b.received_at, campaign),
             "addresses": bounced[b.id]}
            for b in bounces
            if bounced[b.id] or b.detail == "delivery status notification"  # not every null return path is one
        ],
    }


def _each_nomination_once(nominations: list[Nomination], names: digests.Names, campaign: Campaign) -> list[dict[str, Any]]:
    """One row per nomination (its reference), naming every role it fills: the team
    verifies, accepts or rejects a nomination whole, so one row per role was one action
    listed three times."""
    grouped: dict[str, list[Nomination]] = {}
    for nomination in nominations:
        grouped.setdefault(nomination.reference, []).append(nomination)
    return [
        {
            "reference": reference, "what": f"Nomination for {rows[0].region}: "
            + ", ".join(names.role(n.role) for n in rows),
            "who": ", ".join(n.name for n in rows), "sender": rows[0].sender or "",
            "received": when(rows[0].received_at, campaign),
        }
        for reference, rows in grouped.items()
    ]
