"""The retention period, planned: as of a moment, what has been kept long enough
(`[retention]` in the campaign file). A message, and what we sent, goes `raw_messages_days`
after the campaign's last deadline (or after it came, if later); an entry's people, a
question's text and the audit trail's details `personal_fields_days` after, the entries
staying counted; a sign-in link or session once spent. Pure: rows in, an `ErasurePlan`
of the same shape as an erasure's out, with a listing of what it does."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from intake.campaign.definition import Campaign
from intake.models import (
    AuditEntry,
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
from intake.reports.erasure_plan import ErasurePlan
from intake.reports.personal_fields import (
    erased_enquiry,
    erased_nomination,
    erased_submission,
    is_erased,
)
from intake.reports.redaction import ERASED, identifiers_from

# Audit details that name nobody: kept when the rest of a detail goes.
AUDIT_KEPT = frozenset({"late", "verified", "decision", "place", "offer", "council", "region", "role", "via", "by",
                        "entries", "removed"})
# The audit trail's own record of an erasure keeps its reason (it was cleared of the person then).
REASONED = frozenset({"erased", "exported"})


def last_deadline(campaign: Campaign) -> datetime:
    return max(campaign.deadline(target.key) for target in campaign.targets())


def kept_until(campaign: Campaign, moment: datetime | None, days: int) -> datetime:
    """When something that came at `moment` goes: `days` after the last deadline, or after it came."""
    start = last_deadline(campaign)
    return max(start, moment or start) + timedelta(days=days)


def cutoff(campaign: Campaign, as_of: datetime, days: int) -> datetime | None:
    """What came at or before this moment is due as of `as_of`; None while the period
    after the last deadline is still running."""
    if as_of < last_deadline(campaign) + timedelta(days=days):
        return None
    return as_of - timedelta(days=days)


@dataclass
class Facts:
    """What the periods reach, read by the store as of one moment: the keys of what goes
    whole, the rows of what is rewritten."""

    messages: Sequence[int] = ()  # kept messages, raw and all
    sent: Sequence[int] = ()  # what we sent (none still being sent)
    drafts: Sequence[int] = ()
    confirmations: Sequence[int] = ()
    unreachable: Sequence[str] = ()
    links: Sequence[int] = ()
    sessions: Sequence[str] = ()
    submissions: Sequence[Submission] = ()
    nominations: Sequence[Nomination] = ()
    enquiries: Sequence[Enquiry] = ()
    audit: Sequence[AuditEntry] = ()


@dataclass
class RetentionPlan:
    changes: ErasurePlan = field(default_factory=ErasurePlan)
    listing: list[tuple[str, int, str]] = field(default_factory=list)  # (what, how many, which)

    @property
    def empty(self) -> bool:
        return not self.changes.delete and not self.changes.rewrite

    def note(self, what: str, keys: Sequence[Any], *, shown: bool = True) -> None:
        """One line of the listing; `shown=False` for keys that are themselves personal
        (an address) or secret (a session's token hash)."""
        if keys:
            self.listing.append((what, len(keys), _which(keys) if shown else ""))


def _which(keys: Sequence[Any]) -> str:
    shown = [str(k) for k in keys[:6]]
    return ", ".join(shown) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")


def plan_retention(facts: Facts, campaign: Campaign, *, team: Collection[str]) -> RetentionPlan:
    """`team`: the team's addresses, kept as the actors of the audit trail."""
    plan = RetentionPlan()
    for model, keys, what in (
        (InboundMessage, facts.messages, "messages as they came (with attachments)"),
        (OutboundMessage, facts.sent, "messages we sent"),
        (IncompleteSubmission, facts.drafts, "incomplete drafts"),
        (Confirmation, facts.confirmations, "changes held for confirmation"),
        (UnreachableAddress, facts.unreachable, "notes of unreachable addresses"),
        (SignInLink, facts.links, "spent sign-in links"),
        (TeamSession, facts.sessions, "ended or lapsed sessions"),
    ):
        for key in keys:
            plan.changes.remove(model, key)
        plan.note(what, list(keys), shown=model not in (UnreachableAddress, TeamSession))
    _entries(plan, facts, campaign)
    _audit(plan, facts.audit, team)
    return plan


def _entries(plan: RetentionPlan, facts: Facts, campaign: Campaign) -> None:
    changes = plan.changes
    submissions = [s for s in facts.submissions if not is_erased(s)]
    for s in submissions:
        who = identifiers_from(s.contact_email or "", names=[s.contact_name], texts=[str(s.fields or {})], slack_users=())
        old = {"contact_name": s.contact_name, "contact_email": s.contact_email, "sender": s.sender, "fields": s.fields}
        changes.change(Submission, s.id, old, erased_submission(s, campaign, who))
    nominations = [n for n in facts.nominations if not is_erased(n)]
    for n in nominations:
        changes.change(Nomination, n.id, {"name": n.name, "email": n.email, "sender": n.sender}, erased_nomination())
    references = sorted({s.reference for s in submissions} | {n.reference for n in nominations})
    plan.note("entries' names, addresses and contact details (the entries stay counted)", references)
    questions = [e for e in facts.enquiries if e.text != ERASED]
    for e in questions:
        changes.change(Enquiry, e.id, {"sender": e.sender, "text": e.text, "answer": e.answer}, erased_enquiry(e))
    plan.note("questions' senders and text (the questions stay counted)", [e.id for e in questions])


def _audit(plan: RetentionPlan, audit: Sequence[AuditEntry], team: Collection[str]) -> None:
    keep = {address.lower() for address in team}
    changed = []
    for row in audit:
        kept = AUDIT_KEPT | ({"reason"} if row.action in REASONED else set())
        detail = {key: value for key, value in (row.detail or {}).items() if key in kept}
        actor = row.actor if not row.actor or row.actor.lower() in keep or row.actor == ERASED else ERASED
        if detail != (row.detail or {}) or actor != row.actor:
            plan.changes.change(AuditEntry, row.id, {"detail": row.detail, "actor": row.actor},
                                {"detail": detail, "actor": actor})
            changed.append(row.id)
    plan.note("audit entries' details naming people (what happened, and when, stays)", changed)
