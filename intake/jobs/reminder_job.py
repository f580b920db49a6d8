"""The reminders job: every reminder due at `now` (slots no older than the grace period),
to those who have not answered, recorded under a unique send key (kind, deadline,
offset, recipient) so that a restart, a second instance or a catch-up run sends nothing
twice. What is due and to whom is planned by `intake/reports/reminders.py` (pure)."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from intake.reports import reminders as plan
from intake.jobs.job_deps import JobDeps
from intake.jobs.facts import read_facts
from intake.jobs.record_posts import RECORD_BATCH, record, wrap
from intake.jobs.report import Planned, RunReport
from intake.messages import Post
from intake.models import OutboundMessage
from intake.reports.reminders import Facts, Reminder, Slot

log = logging.getLogger(__name__)


async def send_due_reminders(
    deps: JobDeps, *, now: datetime | None = None, dry_run: bool = False, catch_up: bool = False
) -> RunReport:
    """With `catch_up`, also log slots missed by more than the grace period. With
    `dry_run`, plan and render but record and send nothing."""
    now = deps.as_of(now)
    report = RunReport(kind=plan.KIND, now=now)
    if catch_up:
        await _skip_missed(deps, now, report)
    slots = plan.due_slots(deps.campaign, now)
    if not slots:
        return report
    facts = await read_facts(deps)
    for slot in slots:
        await _send_slot(deps, slot, facts, now, report, dry_run=dry_run)
    if report.recorded:
        log.info("reminders recorded: %s (%s)", report.recorded, ", ".join(report.due))
        deps.wake()
    return report


async def _skip_missed(deps: JobDeps, now: datetime, report: RunReport) -> None:
    async with deps.store.reader() as unit:
        last = await unit.outbound.last_recorded(plan.KIND, before=now)
    for slot in plan.missed_slots(deps.campaign, now, since=last):
        report.skipped.append(slot.key)
        log.warning(
            "reminder for %s (%s working days before %s), due %s, was missed by more than %s hours: skipped",
            ", ".join(slot.targets), slot.offset, slot.deadline.isoformat(), slot.at.isoformat(),
            deps.campaign.reminders.grace_hours,
        )


async def _send_slot(
    deps: JobDeps, slot: Slot, facts: Facts, now: datetime, report: RunReport, *, dry_run: bool
) -> None:
    campaign, councils = deps.campaign, deps.councils
    report.due.append(slot.key)
    pending = plan.outstanding(campaign, councils, slot, facts.submissions, facts.nominations)
    reminders, unreachable = plan.address(
        slot, pending, councils=councils, contacts=deps.contacts(), senders=facts.senders,
        nominations=facts.nominations, team_channel=deps.settings.team_slack_channel,
    )
    async with deps.store.reader() as unit:
        already = await unit.outbound.keys(f"{plan.KIND}:{slot.key}:")
        blocked = await unit.unreachable.addresses()
    # Addresses the team noted as unreachable (our mail bounces): they are called instead.
    unreachable += [f"{r.recipient} (noted as unreachable)" for r in reminders if r.recipient.lower() in blocked]
    reminders = [r for r in reminders if r.recipient.lower() not in blocked]
    for name in unreachable:
        log.info("reminder %s: no address known for %s", slot.key, name)
    report.unreachable += unreachable
    targets = {key: plan.target_view(campaign, councils, key, now) for key in slot.targets}
    received = facts.received_by()
    rows: list[tuple[OutboundMessage, Planned]] = []
    for reminder in reminders:
        if reminder.channel not in deps.composers:
            continue
        about = _about(reminder, deps)
        if reminder.send_key in already:
            report.planned.append(
                Planned(plan.KIND, reminder.channel, reminder.recipient, "", reminder.send_key, about, "sent before")
            )
            continue
        context = plan.reminder_context(
            reminder, pending, facts, campaign=campaign, councils=councils, now=now,
            intake_address=deps.intake_address, received=received, targets=targets,
        )
        row = wrap(deps, reminder.channel, render_reminder(deps, reminder, context, now))
        planned = Planned(
            plan.KIND, reminder.channel, reminder.recipient, row.subject, reminder.send_key, about, "would send"
        )
        rows.append((row, planned))
        # Rendered messages are recorded a batch at a time, so a large register never
        # holds a whole round of message bodies in memory.
        if len(rows) >= RECORD_BATCH:
            await _settle(deps, rows, report, dry_run=dry_run)
    await _settle(deps, rows, report, dry_run=dry_run)


async def _settle(
    deps: JobDeps, rows: list[tuple[OutboundMessage, Planned]], report: RunReport, *, dry_run: bool
) -> None:
    if not dry_run:
        kept = {id(row) for row in await record(deps, [row for row, _ in rows])}
        for row, planned in rows:
            planned.state = "recorded" if id(row) in kept else "sent before"
    report.planned.extend(planned for _, planned in rows)
    rows.clear()


def render_reminder(deps: JobDeps, reminder: Reminder, context: dict[str, Any], now: datetime) -> Post:
    renderer = deps.renderer
    if reminder.channel == "slack":
        payload = renderer.slack(plan.KIND, context)
        subject = payload.get("text", "")
        return Post(plan.KIND, reminder.recipient, reminder.send_key, now, subject=subject, payload=payload)
    text, html = renderer.email(plan.KIND, context)
    subject = renderer.email_subject(plan.KIND, context)
    return Post(plan.KIND, reminder.recipient, reminder.send_key, now, subject=subject, text=text, html=html)


def _about(reminder: Reminder, deps: JobDeps) -> str:
    names = [c.short_name if (c := deps.councils.get(code)) else code for code in reminder.councils]
    parts = []
    if names:
        parts.append(", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else ""))
    if reminder.regions:
        parts.append("leads: " + ", ".join(reminder.regions))
    return "; ".join(parts)
