"""The digest job: the team's daily digest due at `now` (no older than the grace period),
by email and to the team's Slack channel, recorded under a send key per day and
recipient; or, `on_demand`, one now whatever the schedule. `build_digest` reads the facts
from the store once; what the digest says is planned by `intake/reports/digest.py` (pure)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from intake.reports import digest as digests
from intake.jobs.job_deps import JobDeps
from intake.jobs.record_posts import record, wrap
from intake.jobs.report import Planned, RunReport
from intake.messages import Post
from intake.campaign.definition import Campaign
from intake.campaign.register import CouncilRegister
from intake.reports.digest import DigestContent, DigestFacts, digest_context
from intake.models import OutboundMessage
from intake.store import Store

log = logging.getLogger(__name__)


class Source(Protocol):
    """Where a digest is built from: the service, or the jobs' own dependencies."""

    store: Store
    campaign: Campaign
    councils: CouncilRegister
    intake_address: str


async def build_digest(source: Source, now: datetime, *, since: datetime | None = None) -> DigestContent:
    """Everything the digest shows, as of `now`. `since` defaults to when the last digest
    was recorded (or a day before `now`)."""
    facts = await read_facts(source.store, now, since=since)
    return DigestContent(digest_context(facts, source.campaign, source.councils, source.intake_address))


async def read_facts(store: Store, now: datetime, *, since: datetime | None = None) -> DigestFacts:
    """The one read of the store."""
    async with store.reader() as unit:
        if since is None:
            since = await unit.outbound.last_recorded(digests.KIND, before=now)
            # Our own record of a digest at `now` (a re-run) must not hide the day's news.
            if since is not None and since >= now:
                since = None
        since = since or now - timedelta(days=1)
        submissions = await unit.submissions.all()
        nominations = await unit.nominations.all()
        messages = await unit.inbound.since(since)
        unprocessed = await unit.inbound.needing_attention()
        enquiries = await unit.enquiries.all(since=since)
        senders = await unit.inbound.senders(until=now)
        held = await unit.confirmations.pending()
        undelivered = await unit.outbound.failed()
    # A digest as of an earlier moment (a re-run, a test) must not show what came later.
    return DigestFacts(
        now=now,
        since=since,
        submissions=[s for s in submissions if s.received_at <= now],
        nominations=[n for n in nominations if n.received_at <= now],
        messages=[m for m in messages if m.received_at <= now],
        unprocessed=[m for m in unprocessed if m.received_at <= now],
        # A question the team has answered or handled is no longer one to chase.
        enquiries=[e for e in enquiries if e.received_at <= now and e.handled_at is None],
        senders=senders,
        held=[c for c in held if c.created_at <= now],
        undelivered=[o for o in undelivered if o.created_at <= now],
    )


async def send_digest(
    deps: JobDeps, *, now: datetime | None = None, dry_run: bool = False, on_demand: bool = False
) -> RunReport:
    """The report carries the rendered digest even when none is due."""
    now = deps.as_of(now)
    report = RunReport(kind=digests.KIND, now=now)
    digest = await build_digest(deps, now)
    report.text, report.html = deps.renderer.email(digests.KIND, digest.context)
    moment = now if on_demand else digests.due_digest(deps.campaign, now)
    if moment is None:
        return report
    report.due.append(moment.isoformat())
    recipients = _recipients(deps)
    if not recipients:
        log.info("digest due %s: no CIB_TEAM_EMAILS or team Slack channel set", moment.isoformat())
        return report
    async with deps.store.reader() as unit:
        already = await unit.outbound.keys(f"{digests.KIND}:{moment.date().isoformat()}:")
    rows: list[tuple[OutboundMessage, Planned]] = []
    for channel, recipient in recipients:
        key = digests.send_key(moment, recipient if channel == "email" else f"slack:{recipient}", on_demand=on_demand)
        planned = Planned(digests.KIND, channel, recipient, digest.subject, key, "CIB team", "would send")
        if key in already:
            planned.state = "sent before"
            report.planned.append(planned)
            continue
        if channel == "email":
            post = Post(digests.KIND, recipient, key, now, subject=digest.subject, text=report.text, html=report.html)
        else:
            payload = deps.renderer.slack(digests.KIND, digest.context)
            post = Post(digests.KIND, recipient, key, now, subject=digest.subject, payload=payload)
        rows.append((wrap(deps, channel, post), planned))
    if not dry_run:
        kept = {id(row) for row in await record(deps, [row for row, _ in rows])}
        for row, planned in rows:
            planned.state = "recorded" if id(row) in kept else "sent before"
    report.planned += [planned for _, planned in rows]
    if report.recorded:
        log.info("digest for %s recorded for %s recipient(s)", moment.date(), report.recorded)
        deps.wake()
    return report


def _recipients(deps: JobDeps) -> list[tuple[str, str]]:
    recipients = [("email", address) for address in deps.settings.team_emails]
    if deps.settings.team_slack_channel and deps.slack_enabled:
        recipients.append(("slack", deps.settings.team_slack_channel))
    return recipients
