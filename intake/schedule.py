"""Reminders and digests: the jobs, and the APScheduler wiring that `cib serve` starts.

The jobs are plain async functions, `send_due_reminders(runtime, now=...)` and
`send_digest(runtime, now=...)`. They work out from the campaign and the database what is
due at `now`, record each message under a unique send key (kind, deadline, offset,
recipient) and hand it to delivery; a key recorded before is never sent again, so a
restart, a second instance, a retry or a catch-up run sends nothing twice. APScheduler only
decides when to call them; `cib remind` and `cib digest` call the same functions for any
moment.

With PostgreSQL several instances may run: the one holding an advisory lock (on a
connection of its own, kept open) runs the jobs, and the others try again every
`scheduler_lock_retry_seconds` to take over. SQLite is one process and needs no lock.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from intake import digest as digests
from intake import reminders as plan
from intake.contacts import Contacts, load_contacts
from intake.mail.compose import compose
from intake.models import OutboundMessage
from intake.reminders import Facts, NominationFact, Reminder, SubmissionFact

if TYPE_CHECKING:
    from intake.app import Runtime

log = logging.getLogger(__name__)

# One 64-bit advisory lock key for "the instance that runs the jobs" (per database).
LOCK_KEY = int.from_bytes(hashlib.sha256(b"cib-intake:scheduler").digest()[:8], "big", signed=True)
RECORD_BATCH = 200  # outbound rows per transaction
SLACK_SPACING = 1.0  # seconds between posts to one channel (Slack's guidance)
SLACK_BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
SLACK_MAX_ATTEMPTS = 8


@dataclass
class Planned:
    """One message a run would send, or sent, or found sent before."""

    kind: str
    channel: str
    recipient: str
    subject: str
    send_key: str
    about: str
    state: str  # "recorded" | "would send" | "sent before"


@dataclass
class RunReport:
    kind: str
    now: datetime
    due: list[str] = field(default_factory=list)  # slot keys / digest moment
    planned: list[Planned] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # missed by more than the grace period
    unreachable: list[str] = field(default_factory=list)  # no address known
    html: str | None = None
    text: str | None = None

    @property
    def recorded(self) -> int:
        return sum(1 for p in self.planned if p.state == "recorded")


# --- reading ------------------------------------------------------------------------------


async def read_facts(runtime: Runtime) -> Facts:
    """Submissions, current nominations and every sender, as plain facts for planning."""
    campaign = runtime.campaign
    cluster_fields = {
        offer.key: [spec.key for spec in campaign.fields_for(offer) if spec.type == "councils"]
        for offer in campaign.offers
    }
    async with runtime.store.reader() as unit:
        submissions = await unit.submissions()
        nominations = await unit.nominations()
        senders = await unit.senders()
    facts = Facts()
    for s in submissions:
        also: list[str] = []
        for key in cluster_fields.get(s.offer, ()):
            value = (s.fields or {}).get(key)
            if isinstance(value, list):
                also += [str(code) for code in value]
        facts.submissions.append(
            SubmissionFact(
                council_code=s.council_code, offer=s.offer, reference=s.reference, status=s.status,
                received_at=s.received_at, late=s.late, verified=s.verified, also_councils=tuple(also),
            )
        )
    facts.nominations = [
        NominationFact(region=n.region, role=n.role, name=n.name, council_code=n.council_code, sender=n.sender)
        for n in nominations
    ]
    facts.senders = plan.senders_by_council(senders, runtime.councils)
    return facts


def contacts_of(runtime: Runtime) -> Contacts:
    # Read on every run: an edited contacts.csv takes effect without a restart.
    path: Path = runtime.settings.contacts_file or runtime.settings.config_dir / "contacts.csv"
    return load_contacts(path, runtime.councils)


def _as_of(runtime: Runtime, now: datetime | None) -> datetime:
    moment = now or runtime.clock()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=runtime.campaign.tz)
    return moment


# --- building messages ---------------------------------------------------------------------


def _email(
    runtime: Runtime, *, kind: str, to: str, subject: str, text_body: str, html: str, now: datetime, send_key: str
) -> OutboundMessage:
    message = compose(
        to=to,
        subject=subject,
        text=text_body,
        html=html,
        from_address=runtime.settings.from_address,
        now=now,
        auto_submitted="auto-generated",
    )
    # Holiday auto-replies to a reminder would only come back to the intake address.
    message["Precedence"] = "bulk"
    return OutboundMessage(
        send_key=send_key, kind=kind, channel="email", recipient=to, subject=subject,
        message_id=message["Message-ID"], body=bytes(message), created_at=now, status="pending",
    )


def _slack(*, kind: str, channel: str, payload: dict[str, Any], now: datetime, send_key: str) -> OutboundMessage:
    return OutboundMessage(
        send_key=send_key, kind=kind, channel="slack", recipient=channel, subject=payload.get("text", "")[:500],
        body=json.dumps(payload).encode(), created_at=now, status="queued",
    )


def _about(reminder: Reminder, runtime: Runtime) -> str:
    names = [c.short_name if (c := runtime.councils.get(code)) else code for code in reminder.councils]
    parts = []
    if names:
        parts.append(", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else ""))
    if reminder.regions:
        parts.append("leads: " + ", ".join(reminder.regions))
    return "; ".join(parts)


async def _record(runtime: Runtime, rows: list[OutboundMessage]) -> list[OutboundMessage]:
    """Record rows in short transactions; those whose key exists already are left out."""
    kept: list[OutboundMessage] = []
    for start in range(0, len(rows), RECORD_BATCH):
        async with runtime.store.unit() as unit:
            for row in rows[start : start + RECORD_BATCH]:
                if await unit.record_outbound(row) is not None:
                    kept.append(row)
    return kept


def _slack_enabled(runtime: Runtime) -> bool:
    return bool(runtime.settings.slack_bot_token)


# --- the jobs -----------------------------------------------------------------------------


async def send_due_reminders(
    runtime: Runtime, *, now: datetime | None = None, dry_run: bool = False, catch_up: bool = False
) -> RunReport:
    """Send every reminder due at `now` (slots no older than the grace period) to those who
    have not answered. With `catch_up`, also log slots missed by more than the grace
    period. With `dry_run`, plan and render but record and send nothing."""
    now = _as_of(runtime, now)
    campaign, councils = runtime.campaign, runtime.councils
    report = RunReport(kind=plan.KIND, now=now)
    if catch_up:
        async with runtime.store.reader() as unit:
            last = await unit.last_recorded(plan.KIND, before=now)
        for slot in plan.missed_slots(campaign, now, since=last):
            report.skipped.append(slot.key)
            log.warning(
                "reminder for %s (%s working days before %s), due %s, was missed by more than %s hours: skipped",
                ", ".join(slot.targets), slot.offset, slot.deadline.isoformat(), slot.at.isoformat(),
                campaign.reminders.grace_hours,
            )
    slots = plan.due_slots(campaign, now)
    if not slots:
        return report
    facts = await read_facts(runtime)
    contacts = contacts_of(runtime)
    intake_address = runtime.service.intake_address
    received = facts.received_by()
    for slot in slots:
        report.due.append(slot.key)
        pending = plan.outstanding(campaign, councils, slot, facts.submissions, facts.nominations)
        reminders, unreachable = plan.address(
            slot, pending, councils=councils, contacts=contacts, senders=facts.senders,
            nominations=facts.nominations, team_channel=runtime.settings.team_slack_channel,
        )
        for name in unreachable:
            log.info("reminder %s: no address known for %s", slot.key, name)
        report.unreachable += unreachable
        async with runtime.store.reader() as unit:
            already = await unit.outbound_keys(f"{plan.KIND}:{slot.key}:")
        targets = {key: plan.target_view(campaign, councils, key, now) for key in slot.targets}
        rows: list[tuple[OutboundMessage, Planned]] = []

        async def record() -> None:
            # Rendered messages are recorded a batch at a time, so a large register
            # never holds a whole round of message bodies in memory.
            if dry_run:
                report.planned.extend(p for _, p in rows)
            else:
                kept = {id(row) for row in await _record(runtime, [row for row, _ in rows])}
                for row, planned in rows:
                    planned.state = "recorded" if id(row) in kept else "sent before"
                    report.planned.append(planned)
            rows.clear()

        for reminder in reminders:
            if reminder.channel == "slack" and not _slack_enabled(runtime):
                continue
            about = _about(reminder, runtime)
            if reminder.send_key in already:
                report.planned.append(
                    Planned(plan.KIND, reminder.channel, reminder.recipient, "", reminder.send_key, about, "sent before")
                )
                continue
            context = plan.reminder_context(
                reminder, pending, facts, campaign=campaign, councils=councils, now=now,
                intake_address=intake_address, received=received, targets=targets,
            )
            row = render_reminder(runtime, reminder, context, now)
            rows.append((row, Planned(plan.KIND, reminder.channel, reminder.recipient, row.subject, reminder.send_key, about, "would send")))
            if len(rows) >= RECORD_BATCH:
                await record()
        await record()
    if report.recorded:
        log.info("reminders recorded: %s (%s)", report.recorded, ", ".join(report.due))
        _hand_over(runtime)
    return report


def render_reminder(runtime: Runtime, reminder: Reminder, context: dict[str, Any], now: datetime) -> OutboundMessage:
    renderer = runtime.renderer
    if reminder.channel == "slack":
        payload = json.loads(renderer.render("slack/reminder.json.j2", context))
        return _slack(kind=plan.KIND, channel=reminder.recipient, payload=payload, now=now, send_key=reminder.send_key)
    subject = " ".join(renderer.render("email/reminder.subject.txt.j2", context).split())
    return _email(
        runtime, kind=plan.KIND, to=reminder.recipient, subject=subject,
        text_body=renderer.render("email/reminder.txt.j2", context),
        html=renderer.render("email/reminder.html.j2", context), now=now, send_key=reminder.send_key,
    )


async def send_digest(
    runtime: Runtime, *, now: datetime | None = None, dry_run: bool = False, on_demand: bool = False
) -> RunReport:
    """Send the daily digest due at `now` (no older than the grace period) to the CIB team
    by email and Slack; `on_demand`: one now, whatever the schedule (each request is its
    own send). The report carries the rendered digest even when none is due."""
    now = _as_of(runtime, now)
    campaign, settings = runtime.campaign, runtime.settings
    report = RunReport(kind=digests.KIND, now=now)
    digest = await digests.build_digest(runtime.service, now)
    report.text, report.html = digests.render_email(runtime.renderer, digest)
    moment = now if on_demand else digests.due_digest(campaign, now)
    if moment is None:
        return report
    report.due.append(moment.isoformat())
    recipients: list[tuple[str, str]] = [("email", address) for address in settings.team_emails]
    if settings.team_slack_channel and _slack_enabled(runtime):
        recipients.append(("slack", settings.team_slack_channel))
    if not recipients:
        log.info("digest due %s: no CIB_TEAM_EMAILS or team Slack channel set", moment.isoformat())
        return report
    async with runtime.store.reader() as unit:
        already = await unit.outbound_keys(f"{digests.KIND}:{moment.date().isoformat()}:")
    rows: list[tuple[OutboundMessage, Planned]] = []
    payload: dict[str, Any] | None = None
    for channel, recipient in recipients:
        key = digests.send_key(moment, recipient if channel == "email" else f"slack:{recipient}", on_demand=on_demand)
        if key in already:
            report.planned.append(Planned(digests.KIND, channel, recipient, digest.subject, key, "CIB team", "sent before"))
            continue
        if channel == "email":
            row = _email(
                runtime, kind=digests.KIND, to=recipient, subject=digest.subject, text_body=report.text,
                html=report.html, now=now, send_key=key,
            )
        else:
            payload = payload or digests.render_slack(runtime.renderer, digest)
            row = _slack(kind=digests.KIND, channel=recipient, payload=payload, now=now, send_key=key)
        rows.append((row, Planned(digests.KIND, channel, recipient, digest.subject, key, "CIB team", "would send")))
    if dry_run:
        report.planned += [p for _, p in rows]
        return report
    kept = {id(row) for row in await _record(runtime, [row for row, _ in rows])}
    for row, planned in rows:
        planned.state = "recorded" if id(row) in kept else "sent before"
        report.planned.append(planned)
    if report.recorded:
        log.info("digest for %s recorded for %s recipient(s)", moment.date(), report.recorded)
        _hand_over(runtime)
    return report


def _hand_over(runtime: Runtime) -> None:
    """Wake email delivery and the Slack poster; they send in the background."""
    runtime.delivery.wake()
    poster = slack_poster(runtime)
    if poster is not None:
        poster.wake()


async def deliver_now(runtime: Runtime) -> tuple[int, int]:
    """Send everything due now and wait for it (the CLI, which exits afterwards)."""
    emails = 0
    while True:
        sent = await runtime.delivery.deliver_due()
        emails += sent
        if not sent:
            break
    poster = slack_poster(runtime)
    posts = await poster.post_due() if poster is not None else 0
    return emails, posts


# --- Slack --------------------------------------------------------------------------------


class SlackPoster:
    """Posts queued Slack messages (chat.postMessage), at most one a second per channel;
    429s are retried by slack_sdk's rate-limit handler, any other failure later with
    backoff, and a post is marked sent only after Slack accepted it."""

    def __init__(self, runtime: Runtime) -> None:
        from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
        from slack_sdk.web.async_client import AsyncWebClient

        self.runtime = runtime
        self.client = AsyncWebClient(token=runtime.settings.slack_bot_token, base_url=runtime.settings.slack_api_url)
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
        self._last: dict[str, float] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[int] | None = None

    def wake(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._task is None or self._task.done():
            self._task = loop.create_task(self.post_due(), name="slack-posts")

    async def post_due(self) -> int:
        async with self._lock:
            clock = self.runtime.clock
            store = self.runtime.store
            async with store.unit() as unit:
                await unit.release_stale_posting(clock() - timedelta(minutes=10))
            posted = 0
            while True:
                async with store.reader() as unit:
                    due = [(r.id, r.recipient, r.body, r.attempts) for r in await unit.slack_due(clock())]
                if not due:
                    return posted
                progress = 0
                for outbound_id, channel, body, attempts in due:
                    async with store.unit() as unit:
                        if not await unit.claim_slack(outbound_id, clock()):
                            continue
                    progress += 1
                    posted += await self._post(outbound_id, channel, json.loads(body), attempts + 1)
                if not progress:
                    return posted

    async def _post(self, outbound_id: int, channel: str, payload: dict[str, Any], attempt: int) -> int:
        wait = self._last.get(channel, 0.0) + SLACK_SPACING - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        store, clock = self.runtime.store, self.runtime.clock
        try:
            await self.client.chat_postMessage(
                channel=channel, text=payload.get("text", ""), blocks=payload.get("blocks"),
                unfurl_links=False, unfurl_media=False,
            )
        except Exception as error:  # noqa: BLE001 - any failure is retried later
            self._last[channel] = time.monotonic()
            retry_at = clock() + SLACK_BACKOFF[min(attempt - 1, len(SLACK_BACKOFF) - 1)] if attempt < SLACK_MAX_ATTEMPTS else None
            log.warning("Slack post %s to %s failed (attempt %s): %s", outbound_id, channel, attempt, error)
            async with store.unit() as unit:
                await unit.finish_slack(outbound_id, sent_at=None, error=str(error)[:1000], retry_at=retry_at)
            return 0
        self._last[channel] = time.monotonic()
        async with store.unit() as unit:
            await unit.finish_slack(outbound_id, sent_at=clock(), error=None, retry_at=None)
        return 1


def slack_poster(runtime: Runtime) -> SlackPoster | None:
    """The runtime's Slack poster (one per runtime, so the per-channel pacing holds), or
    None when no Slack token is configured."""
    if not _slack_enabled(runtime):
        return None
    if runtime.slack_poster is None:
        runtime.slack_poster = SlackPoster(runtime)
    return runtime.slack_poster


# --- who runs the jobs -------------------------------------------------------------------


class Leadership:
    """The right to run the jobs: a PostgreSQL session advisory lock held on a connection
    of its own; on SQLite (one process) always granted."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.connection: AsyncConnection | None = None
        self.shared = runtime.store.dialect == "postgresql"

    async def acquire(self) -> bool:
        if not self.shared:
            return True
        if self.connection is None:
            connection = await self.runtime.store.engine.connect()
            self.connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(await self.connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}))
        except Exception:
            await self._drop()
            raise
        if not got:
            # Keep no idle connection while another instance leads.
            await self._drop()
        return got

    async def held(self) -> bool:
        """Whether we still hold it: the lock lives exactly as long as its connection."""
        if not self.shared:
            return True
        if self.connection is None:
            return False
        try:
            await self.connection.scalar(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - a dead connection has lost the lock
            await self._drop()
            return False

    async def release(self) -> None:
        if self.connection is None:
            return
        try:
            await self.connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        except Exception:  # noqa: BLE001 - closing the connection releases it anyway
            pass
        await self._drop()

    async def _drop(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                await connection.close()
            except Exception:  # noqa: BLE001
                await connection.invalidate()


class Scheduler:
    """APScheduler jobs for reminders, the digest and Slack retries, run only while this
    instance leads; on taking the lead it first catches up on anything missed."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.campaign = runtime.campaign
        self.leadership = Leadership(runtime)
        self.leader = False
        self.aps = AsyncIOScheduler(timezone=self.campaign.tz)
        self._loop_task: asyncio.Task[None] | None = None
        self._jobs: list[str] = []

    async def start(self) -> None:
        self.aps.start()
        await self._contend()
        self._loop_task = asyncio.create_task(self._keep_contending(), name="scheduler-leadership")

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            try:
                await self._loop_task
            except asyncio.CancelledError:
                pass
        if self.aps.running:
            self.aps.shutdown(wait=False)
        self.leader = False
        await self.leadership.release()

    async def _keep_contending(self) -> None:
        while True:
            await asyncio.sleep(self.runtime.settings.scheduler_lock_retry_seconds)
            try:
                await self._contend()
            except Exception:  # noqa: BLE001 - the database may be briefly away; try again
                log.exception("scheduler leadership check failed")

    async def _contend(self) -> None:
        if self.leader:
            if not await self.leadership.held():
                log.warning("lost the scheduler lock: another instance will run reminders and digests")
                self.leader = False
                self._remove_jobs()
            return
        if await self.leadership.acquire():
            self.leader = True
            if self.leadership.shared:
                log.info("this instance runs reminders and digests (holds the scheduler lock)")
            self._add_jobs()
            await self._catch_up()

    def _add_jobs(self) -> None:
        now = self.runtime.clock()
        reminders = self.campaign.reminders
        grace = int(timedelta(hours=reminders.grace_hours).total_seconds()) or 1
        for at in sorted({slot.at for slot in plan.upcoming_slots(self.campaign, now)}):
            job_id = f"reminders:{at.isoformat()}"
            self.aps.add_job(
                self._run_reminders, DateTrigger(run_date=at), id=job_id, replace_existing=True,
                misfire_grace_time=grace, coalesce=True, max_instances=1,
            )
            self._jobs.append(job_id)
        clock = self.campaign.digest.time
        self.aps.add_job(
            self._run_digest, CronTrigger(hour=clock.hour, minute=clock.minute, timezone=self.campaign.tz),
            id="digest", replace_existing=True, coalesce=True, max_instances=1,
            misfire_grace_time=int(timedelta(hours=self.campaign.digest.grace_hours).total_seconds()) or 1,
        )
        self._jobs.append("digest")
        if _slack_enabled(self.runtime):
            self.aps.add_job(
                self._run_slack, IntervalTrigger(seconds=self.runtime.settings.slack_post_interval_seconds),
                id="slack-posts", replace_existing=True, coalesce=True, max_instances=1,
            )
            self._jobs.append("slack-posts")

    def _remove_jobs(self) -> None:
        for job_id in self._jobs:
            try:
                self.aps.remove_job(job_id)
            except Exception:  # noqa: BLE001 - a date job that has run is gone already
                pass
        self._jobs.clear()

    async def _catch_up(self) -> None:
        await self._run_reminders(catch_up=True)
        await self._run_digest()
        await self._run_slack()

    async def _run_reminders(self, *, catch_up: bool = False) -> None:
        if not self.leader:
            return
        try:
            await send_due_reminders(self.runtime, now=self.runtime.clock(), catch_up=catch_up)
        except Exception:
            log.exception("reminder run failed; the next run (or a restart) catches up")

    async def _run_digest(self) -> None:
        if not self.leader:
            return
        try:
            await send_digest(self.runtime, now=self.runtime.clock())
        except Exception:
            log.exception("digest run failed")

    async def _run_slack(self) -> None:
        poster = slack_poster(self.runtime)
        if poster is None or not self.leader:
            return
        try:
            await poster.post_due()
        except Exception:
            log.exception("posting to Slack failed")

    def jobs(self) -> list[tuple[str, datetime | None]]:
        return [(job.id, job.next_run_time) for job in self.aps.get_jobs()]


async def start_scheduler(runtime: Runtime) -> Scheduler:
    """Called by Runtime.start: start the scheduler and contend for the lead."""
    scheduler = Scheduler(runtime)
    await scheduler.start()
    return scheduler
