"""The retention job: as of `now`, remove what the campaign's `[retention]` periods say
has been kept long enough (planned by `intake/reports/retention_plan.py`), make the
removal final in the database's files (`intake/store/secure_erase.py`), and remove the
old copies in the local outbox folder when mail goes to one. The scheduler's leader runs
it daily; `cib personal-data retention --as-of` runs it for any moment (`--dry-run`: only
the listing). Run again, it finds nothing more to do."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from intake.jobs.job_deps import JobDeps
from intake.models import (
    AuditEntry,
    Confirmation,
    Enquiry,
    InboundMessage,
    IncompleteSubmission,
    Nomination,
    OutboundMessage,
    Submission,
    UnreachableAddress,
)
from intake.outbox.maildir_files import Reworked, rework
from intake.reports.retention_plan import Facts, RetentionPlan, cutoff, plan_retention
from intake.store import Unit
from intake.store.secure_erase import Settled, settle

log = logging.getLogger(__name__)


@dataclass
class RetentionReport:
    now: datetime
    dry_run: bool
    listing: list[tuple[str, int, str]] = field(default_factory=list)  # (what, how many, which)
    settled: Settled | None = None
    outbox: Reworked | None = None

    @property
    def removed(self) -> int:
        return sum(n for _, n, _ in self.listing) + (self.outbox.removed if self.outbox else 0)


async def read_facts(unit: Unit, deps: JobDeps, now: datetime) -> Facts:
    """What each period reaches as of `now` (nothing while it is still running)."""
    retention, personal = deps.campaign.retention, unit.personal
    facts = Facts()
    raw = cutoff(deps.campaign, now, retention.raw_messages_days)
    if raw is not None:
        facts.messages = await personal.due_keys(InboundMessage, "received_at", raw)
        facts.sent = await personal.due_keys(OutboundMessage, "created_at", raw,
                                             where=OutboundMessage.status != "sending")
        facts.drafts = await personal.due_keys(IncompleteSubmission, "created_at", raw)
        facts.confirmations = await personal.due_keys(Confirmation, "created_at", raw)
    fields = cutoff(deps.campaign, now, retention.personal_fields_days)
    if fields is not None:
        facts.submissions = await personal.due(Submission, "received_at", fields)
        facts.nominations = await personal.due(Nomination, "received_at", fields)
        facts.enquiries = await personal.due(Enquiry, "received_at", fields)
        facts.audit = await personal.due(AuditEntry, "at", fields)
        facts.unreachable = await personal.due_keys(UnreachableAddress, "noted_at", fields)
    facts.links, facts.sessions = await personal.spent_sign_in(now - timedelta(days=retention.spent_sign_in_days))
    return facts


async def apply_retention(deps: JobDeps, *, now: datetime | None = None, dry_run: bool = False) -> RetentionReport:
    now = deps.as_of(now)
    report = RetentionReport(now, dry_run)
    if dry_run:
        async with deps.store.reader() as unit:
            plan = plan_retention(await read_facts(unit, deps, now), deps.campaign, team=deps.settings.team_emails)
    else:
        async with deps.store.unit() as unit:
            await unit.personal.secure_delete(True)
            plan = plan_retention(await read_facts(unit, deps, now), deps.campaign, team=deps.settings.team_emails)
            if not plan.empty:
                await unit.personal.apply(delete_rows=plan.changes.delete, rewrite=plan.changes.rewrite)
                _record(unit, plan, now)
            await unit.personal.secure_delete(False)
        if not plan.empty:
            report.settled = await settle(deps.store, (), tables=plan.changes.tables)
    report.listing = plan.listing
    folder = _outbox_folder(deps)
    raw = cutoff(deps.campaign, now, deps.campaign.retention.raw_messages_days)
    if folder is not None and raw is not None:
        report.outbox = await asyncio.to_thread(
            rework, folder, lambda content, modified: None if modified <= raw else content, dry_run=dry_run)
    if report.removed and not dry_run:
        log.info("retention as of %s: %s", now.isoformat(), "; ".join(f"{what}: {n}" for what, n, _ in plan.listing))
    return report


def _record(unit: Unit, plan: RetentionPlan, now: datetime) -> None:
    removed = "; ".join(f"{what}: {n}" for what, n, _ in plan.listing)
    unit.audit.record(at=now, actor=None, action="retention", entity="campaign", entity_id=None,
                      detail={"by": "the retention period", "removed": removed})


def _outbox_folder(deps: JobDeps) -> Path | None:
    """The local Maildir, when mail goes to one (no relay)."""
    return None if deps.settings.relay_host else deps.settings.outbox_dir
