"""How soon the outbox goes round again, against a real SMTP relay: a full round is
followed at once by the next, a retry is sent when it falls due, and rows recorded without
a wake (by another process, such as `cib remind`) are seen within about a second. Each
dispatcher here is told to idle for a minute, so only these rules can make it send."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from intake.models import OutboundMessage
from intake.outbox.dispatch import Dispatcher
from tests.campaign_seed import submit

MINUTE = 60


def _real_now() -> datetime:
    return datetime.now(timezone.utc)


async def _pending(runtime, councils: int) -> list[int]:
    await runtime.delivery.stop()  # these tests drive delivery themselves
    for council in [c for c in runtime.councils if c.email_domains][:councils]:
        await submit(runtime, "pbr-pathfinder", council.name, sender=f"officer@{council.email_domains[0]}")
    async with runtime.store.reader() as unit:
        return [row.id for row in await unit.outbound.due(runtime.clock(), channel="email", limit=1000)]


async def _delivered(relay, count: int, *, within: float) -> float:
    """Seconds until the relay holds `count` messages (fails after `within`)."""
    started = time.monotonic()
    while len(relay.messages) < count:
        assert time.monotonic() - started < within, f"{len(relay.messages)} of {count} after {within} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_backlog_goes_out_round_after_round_without_idling(runtime, relay, clock):
    ids = await _pending(runtime, 23)
    assert len(ids) == 23
    worker = Dispatcher(runtime.store, runtime.delivery.transport, channel="email", clock=clock,
                        round_size=5, idle_seconds=MINUTE)
    worker.start()
    try:
        await _delivered(relay, 23, within=20)
    finally:
        await worker.stop()
    async with runtime.store.reader() as unit:
        assert {row.status for row in await unit.outbound.by_ids(ids)} == {"sent"}


async def test_rows_recorded_without_a_wake_are_seen_within_about_a_second(runtime, relay, clock):
    await runtime.delivery.stop()
    worker = Dispatcher(runtime.store, runtime.delivery.transport, channel="email", clock=clock)
    worker.start()
    try:
        await asyncio.sleep(0.3)  # idle, nothing to send
        assert relay.messages == []
        # Recorded as another process records: nothing wakes this worker.
        await submit(runtime, "pbr-pathfinder", "Leeds City Council", sender="officer@leeds.gov.uk")
        await _delivered(relay, 1, within=5)
    finally:
        await worker.stop()


async def test_a_retry_is_sent_when_it_falls_due(runtime, relay):
    [row_id] = await _pending(runtime, 1)
    due = _real_now() + timedelta(seconds=1)
    async with runtime.store.unit() as unit:
        await unit.session.execute(update(OutboundMessage).where(OutboundMessage.id == row_id).values(next_attempt_at=due))
    worker = Dispatcher(runtime.store, runtime.delivery.transport, channel="email", clock=_real_now,
                        idle_seconds=MINUTE)
    worker.start()
    try:
        await _delivered(relay, 1, within=10)
    finally:
        await worker.stop()
    assert _real_now() >= due  # not before its time
