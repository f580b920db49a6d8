"""The scheduler: APScheduler calls the same jobs; on start the instance that leads
catches up on a run missed within the grace period and skips (and logs) an older one; on
PostgreSQL two instances send each reminder once, and the second takes over from the first."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from intake.runtime.composition import create_service
from intake.jobs import send_due_reminders
from intake.jobs.scheduler import Scheduler, start_scheduler
from tests.campaign_seed import flush
from tests.conftest import Clock

LONDON = ZoneInfo("Europe/London")
CONTACTS = "council,region,name,role,email,slack_channel\nKent,,,DCS,dcs@kent.gov.uk,\nCamden,,,DCS,dcs@camden.gov.uk,\n"


async def _outbound(runtime, kind):
    async with runtime.store.reader() as unit:
        return await unit.outbound.all(kind=kind)


async def test_start_catches_up_within_grace_and_skips_older(settings_factory, clock, tmp_path, caplog):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(CONTACTS)
    # Down from before 09:00 on Thursday 13 May until 15:00: the 09:00 reminder is 6 hours
    # late, within the 12-hour grace; the 08:30 digest too.
    clock.set(datetime(2027, 5, 13, 15, 0, tzinfo=LONDON))
    runtime = create_service(settings_factory(contacts_file=contacts, scheduler_enabled=True), clock=clock)
    await runtime.start(smtp=False, slack=False, scheduler=True)
    try:
        assert isinstance(runtime.scheduler, Scheduler) and runtime.scheduler.leader
        reminders = await _outbound(runtime, "reminder")
        assert sorted(r.recipient for r in reminders) == ["dcs@camden.gov.uk", "dcs@kent.gov.uk"]
        assert len(await _outbound(runtime, "digest")) == 1
        jobs = dict(runtime.scheduler.jobs())
        assert "digest" in jobs and jobs["digest"].hour == 8 and jobs["digest"].minute == 30
        assert "reminders:2027-05-14T09:00:00+01:00" in jobs
        await flush(runtime)
    finally:
        await runtime.stop()

    # Down again until Saturday 15 May, 10:00: Friday's 09:00 reminder is 25 hours old.
    clock.set(datetime(2027, 5, 15, 10, 0, tzinfo=LONDON))
    runtime = create_service(settings_factory(contacts_file=contacts, scheduler_enabled=True), clock=clock)
    with caplog.at_level(logging.WARNING, logger="intake.jobs"):
        await runtime.start(smtp=False, slack=False, scheduler=True)
    try:
        assert len(await _outbound(runtime, "reminder")) == 2  # nothing new
        assert any("missed by more than 12" in r.getMessage() and "2027-05-14T09:00" in r.getMessage() for r in caplog.records)
        assert len(await _outbound(runtime, "digest")) == 2  # today's, 1.5 hours late
        await flush(runtime)
    finally:
        await runtime.stop()


async def test_a_job_run_twice_or_concurrently_records_each_send_once(settings_factory, clock, tmp_path):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(CONTACTS)
    runtime = create_service(settings_factory(contacts_file=contacts), clock=clock)
    await runtime.start(smtp=False, slack=False, scheduler=False)
    try:
        now = datetime(2027, 5, 13, 9, 0, tzinfo=LONDON)
        reports = await asyncio.gather(*(send_due_reminders(runtime.jobs, now=now) for _ in range(3)))
        assert sum(r.recorded for r in reports) == 2
        assert len(await _outbound(runtime, "reminder")) == 2
        await flush(runtime)
    finally:
        await runtime.stop()


async def test_two_instances_on_postgresql_send_each_reminder_once(postgres_url, settings_factory, tmp_path, relay):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(CONTACTS)
    settings = settings_factory(
        database_url=postgres_url, contacts_file=contacts, scheduler_enabled=True, scheduler_lock_retry_seconds=0.2
    )
    clock = Clock(datetime(2027, 5, 13, 9, 5, tzinfo=LONDON))
    first = create_service(settings, clock=clock)
    second = create_service(settings, clock=clock)
    await first.start(smtp=False, slack=False, scheduler=False)
    await second.start(smtp=False, slack=False, scheduler=False)
    a = await start_scheduler(first.jobs)
    b = await start_scheduler(second.jobs)
    try:
        assert [a.leader, b.leader] == [True, False]
        # Even if both ran the job at the same moment, the send keys keep it to one each.
        await asyncio.gather(send_due_reminders(first.jobs), send_due_reminders(second.jobs))
        assert len(await _outbound(first, "reminder")) == 2

        # The leader goes away; the other takes over within a few retries and catches up
        # on the next slot (Friday 14 May, regional leads) without resending Thursday's.
        await a.stop()
        clock.set(datetime(2027, 5, 14, 9, 1, tzinfo=LONDON))
        for _ in range(50):
            if b.leader:
                break
            await asyncio.sleep(0.1)
        assert b.leader
        await asyncio.sleep(0.2)
        reminders = await _outbound(second, "reminder")
        keys = [r.send_key for r in reminders]
        assert len(keys) == len(set(keys))
        assert {k.split(":")[-2] for k in keys} == {"10"}
        assert any("2027-05-31T22:59Z" in k for k in keys) and any("2027-05-27T16:00Z" in k for k in keys)
        await flush(second)
        subjects = [(str(m["To"]), m["Subject"]) for m in relay.messages]
        assert len(subjects) == len(set(subjects))
        assert len([s for s in subjects if "Reminder" in s[1]]) == len(reminders) == 4
        assert len([s for s in subjects if "digest" in s[1]]) == 2  # Thursday's and Friday's
        await flush(first)
    finally:
        await b.stop()
        await first.stop()
        await second.stop()


async def test_a_frozen_leader_loses_the_lock_when_its_lease_runs_out(postgres_url):
    """A holder that stops (SIGSTOP: its connection stays open, it sends nothing) is cut
    off by the server once its lease runs out, and a standby takes the lock."""
    from intake.store import Store
    from intake.store.leadership import Leadership

    store = Store.from_url(postgres_url)
    frozen, standby = Leadership(store, lease=1.5), Leadership(store, lease=1.5)
    try:
        assert await frozen.acquire()
        assert not await standby.acquire()
        frozen._beat.cancel()  # the process is stopped: no more heartbeats, the socket stays open
        took_over = False
        for _ in range(40):  # up to 4 s: the lease (1.5 s) and a try or two
            await asyncio.sleep(0.1)
            if await standby.acquire():
                took_over = True
                break
        assert took_over
        assert not await frozen.held()  # when it wakes, it knows it lost
    finally:
        await standby.release()
        await frozen.release()
        await store.close()
