"""When the jobs run: APScheduler, started by `Runtime.start`, calls the reminders job at
each reminder slot, and the digest and retention jobs daily, only while this instance leads.

With PostgreSQL several instances may run: the one holding the advisory lock
(`intake/store/leadership.py`) runs the jobs, and the others try again every
`scheduler_lock_retry_seconds` to take over. On taking the lead an instance first
catches up on anything missed. SQLite is one process and needs no lock.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from intake.reports import reminders as plan
from intake.jobs.job_deps import JobDeps
from intake.jobs.digest_job import send_digest
from intake.jobs.reminder_job import send_due_reminders
from intake.jobs.retention_job import apply_retention
from intake.store.leadership import Leadership

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, deps: JobDeps) -> None:
        self.deps = deps
        self.campaign = deps.campaign
        # A frozen holder loses the lock after three missed tries of the others.
        self.leadership = Leadership(deps.store, lease=max(3 * deps.settings.scheduler_lock_retry_seconds, 3.0))
        self.leader = False
        self.aps = AsyncIOScheduler(timezone=self.campaign.tz)
        self._loop_task: asyncio.Task[None] | None = None
        self._jobs: list[str] = []
        # When this instance's scheduler last did its round (a leadership check or a job):
        # /healthz shows it, so a scheduler that stopped turning is seen.
        self.last_run: datetime | None = None

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
            await asyncio.sleep(self.deps.settings.scheduler_lock_retry_seconds)
            try:
                await self._contend()
            except Exception:  # noqa: BLE001 - the database may be briefly away; try again
                log.exception("scheduler leadership check failed")

    async def _contend(self) -> None:
        self.last_run = self.deps.clock()
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
            await self._run_reminders(catch_up=True)
            await self._run_digest()

    def _add_jobs(self) -> None:
        now = self.deps.clock()
        grace = int(timedelta(hours=self.campaign.reminders.grace_hours).total_seconds()) or 1
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
        # The retention periods (campaign.toml's [retention]), applied daily at a quiet hour.
        quiet = self.campaign.retention.time
        self.aps.add_job(
            self._run_retention, CronTrigger(hour=quiet.hour, minute=quiet.minute, timezone=self.campaign.tz),
            id="retention", replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=12 * 3600,
        )
        self._jobs.append("retention")

    def _remove_jobs(self) -> None:
        for job_id in self._jobs:
            try:
                self.aps.remove_job(job_id)
            except Exception:  # noqa: BLE001 - a date job that has run is gone already
                pass
        self._jobs.clear()

    async def _run_reminders(self, *, catch_up: bool = False) -> None:
        if not self.leader:
            return
        try:
            await send_due_reminders(self.deps, now=self.deps.clock(), catch_up=catch_up)
        except Exception:
            log.exception("reminder run failed; the next run (or a restart) catches up")

    async def _run_digest(self) -> None:
        if not self.leader:
            return
        try:
            await send_digest(self.deps, now=self.deps.clock())
        except Exception:
            log.exception("digest run failed")

    async def _run_retention(self) -> None:
        if not self.leader:
            return
        try:
            await apply_retention(self.deps, now=self.deps.clock())
        except Exception:
            log.exception("retention run failed; tomorrow's run (or cib personal-data retention) catches up")

    def jobs(self) -> list[tuple[str, datetime | None]]:
        return [(job.id, job.next_run_time) for job in self.aps.get_jobs()]


async def start_scheduler(deps: JobDeps) -> Scheduler:
    """Start the scheduler and contend for the lead."""
    scheduler = Scheduler(deps)
    await scheduler.start()
    return scheduler
