"""What the team's workspace shows, read from the store in one transaction per page:
the overview (the digest's figures, as of now), the entries with filters, one entry in
full, and everything that needs a person. Plain data; the pages only lay it out."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from intake import digest as digests
from intake.jobs.digest import read_facts
from intake.models import AuditEntry, InboundMessage, OutboundMessage
from intake.replies import display, when
from intake.service import IntakeService

FILTERS = ("q", "kind", "offer", "region", "status", "verified", "late", "decision")


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
    waiting = await needs(service, now)
    context["needs"] = {key: len(rows) for key, rows in waiting.items()}
    context["needs_total"] = sum(context["needs"].values())
    return context


async def entries(service: IntakeService) -> list[dict[str, Any]]:
    """Every submission and current nomination, newest first, as the exports describe them."""
    data = await service.export()
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


async def entry(service: IntakeService, reference: str) -> EntryView | None:
    reference = reference.strip().upper()
    data = await service.export()
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
    if kind == "submission" and found:
        offer = service.campaign.offer(found[0]["offer"])
        view.fields = [(spec.title, display(spec, found[0]["fields"].get(spec.key), service.councils))
                       for spec in service.campaign.fields_for(offer)]
    return view


async def needs(service: IntakeService, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Everything waiting for a person, each list whole (no caps: this is where the
    digest's "and 86 more" are)."""
    campaign = service.campaign
    names = digests.Names.of(campaign, service.councils)
    async with service.store.reader() as unit:
        submissions = await unit.submissions.all()
        nominations = await unit.nominations.all()
        enquiries = await unit.enquiries.all()
        unprocessed = await unit.inbound.needing_attention()
        held = await unit.confirmations.pending()
        failed = await unit.outbound.failed()
        drafts = await unit.drafts.all_open()
        bounces = await unit.inbound.bounces()
    readers = service.channels.readers
    bounced = {b.id: list(readers[b.channel](b).bounced) if b.channel in readers else [] for b in bounces}
    return {
        "unverified": digests.unverified(submissions, [n for n in nominations if n.current], names),
        "enquiries": [
            {"id": e.id, "sender": e.sender or "unknown sender", "channel": e.channel, "text": e.text,
             "received": when(e.received_at, campaign)}
            for e in enquiries if e.handled_at is None
        ],
        "stuck": digests.stuck(unprocessed, now, campaign),
        "drafts": [
            {"id": d.id, "inbound_id": d.inbound_id, "offer": names.offer(d.offer), "sender": d.sender or "unknown sender",
             "channel": d.channel, "created": when(d.created_at, campaign),
             "fields": ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in (d.fields or {}).items() if v not in ("", None, []))}
            for d in drafts
        ],
        "held": digests.awaiting(held, now, campaign),
        "late": digests.late([s for s in submissions if not s.late_accepted],
                             [n for n in nominations if not n.late_accepted], names, campaign),
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
