"""Delivery under faults, against a real SMTP relay: a worker that dies between the
relay's 250 and our record, and one that dies holding a claim. Nothing is stuck past the
lease; only the message in flight at the crash can go out twice; nothing recorded as
sent goes out again."""
from __future__ import annotations

import asyncio
import socket
from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import select

from intake.runtime.composition import create_service
from intake.models import OutboundMessage
from intake.outbox.dispatch import LEASE, Dispatcher
from intake.outbox.owners import this_process
from tests.campaign_seed import submit


class DiesAfterSending:
    """The real carrier, in a worker that is killed just after the relay took message
    number `dies_at` (the 250 arrived; our record never happens)."""

    def __init__(self, carrier, dies_at: int) -> None:
        self.carrier, self.dies_at, self.count, self.dead = carrier, dies_at, 0, False

    async def send(self, row: OutboundMessage) -> None:
        if self.dead:
            raise asyncio.CancelledError  # the process is gone: nothing more is sent or recorded
        await self.carrier.send(row)
        self.count += 1
        if self.count == self.dies_at:
            self.dead = True
            raise asyncio.CancelledError

    def describe(self) -> str:
        return "a worker about to die"


async def _pending(runtime, councils: int) -> list[int]:
    await runtime.delivery.stop()  # this test drives delivery itself
    for council in [c for c in runtime.councils if c.email_domains][:councils]:
        await submit(runtime, "pbr-pathfinder", council.name, sender=f"officer@{council.email_domains[0]}")
    async with runtime.store.reader() as unit:
        rows = await unit.outbound.due(runtime.clock(), channel="email")
    return [row.id for row in rows]


async def test_a_crash_after_the_relay_took_one_repeats_only_that_one(runtime, relay, clock):
    ids = await _pending(runtime, 4)
    assert len(ids) == 4 and relay.messages == []
    dying = Dispatcher(runtime.store, DiesAfterSending(runtime.delivery.transport, dies_at=2),
                       channel="email", clock=clock, lease_clock=clock)
    try:
        await dying.deliver_due()
    except asyncio.CancelledError:
        pass
    await asyncio.sleep(0.1)  # nothing of the dead worker's is still running
    assert len(relay.messages) == 2
    async with runtime.store.reader() as unit:
        states = {r.id: r.status for r in await unit.outbound.by_ids(ids)}
    assert list(states.values()).count("sent") == 1  # recorded at once, before the next send
    assert list(states.values()).count("sending") == 3  # the one in flight, and two never tried

    # Another worker, before the lease runs out: nothing of the dead worker's is touched.
    survivor = Dispatcher(runtime.store, runtime.delivery.transport, channel="email", clock=clock, lease_clock=clock)
    assert await survivor.deliver_due() == 0
    # Once it has run out, no restart needed: the rest go out.
    clock.set(clock() + LEASE + LEASE / 10)
    assert await survivor.deliver_due() == 3
    async with runtime.store.reader() as unit:
        assert {r.status for r in await unit.outbound.by_ids(ids)} == {"sent"}
    copies = Counter(str(m["To"]) for m in relay.messages)
    assert sorted(copies.values()) == [1, 1, 1, 2]  # only the message in flight went twice


async def test_rows_a_dead_worker_held_go_out_while_the_service_runs(runtime, relay, clock):
    ids = await _pending(runtime, 2)
    runtime.delivery.lease_clock = clock  # leases on the test's clock, to let one run out
    async with runtime.store.unit() as unit:  # a worker claimed them, then died
        taken = await unit.outbound.claim(ids, clock(), lease_now=clock(), lease_until=clock() + LEASE)
    assert taken == set(ids)
    runtime.delivery.start()
    runtime.delivery.wake()
    await asyncio.sleep(0.2)
    assert relay.messages == []  # held: the lease has not run out
    clock.set(clock() + LEASE + LEASE / 10)
    await runtime.delivery.flush()
    assert len(relay.messages) == 2
    async with runtime.store.reader() as unit:
        rows = list(await unit.session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids))))
    assert {r.status for r in rows} == {"sent"}


async def test_stopping_lets_the_round_in_hand_finish(runtime, relay):
    ids = await _pending(runtime, 3)
    runtime.delivery.start()
    runtime.delivery.wake()
    await runtime.delivery.stop()
    async with runtime.store.reader() as unit:
        assert {r.status for r in await unit.outbound.by_ids(ids)} == {"sent"}
    assert len(relay.messages) == 3


async def test_a_restart_sends_at_once_what_a_process_that_died_held(runtime, relay, clock):
    ids = await _pending(runtime, 3)
    gone = await asyncio.create_subprocess_exec("true")
    await gone.wait()  # a process of this machine that has ended: a holder killed mid-round
    dead = f"{socket.gethostname()}:{gone.pid}:1"
    real_now = datetime.now(timezone.utc)
    async with runtime.store.unit() as unit:
        await unit.outbound.claim(ids[:2], clock(), lease_now=real_now, lease_until=real_now + LEASE, owner=dead)
        # One still held by a live process (this one, as `cib remind` beside the service).
        await unit.outbound.claim(ids[2:], clock(), lease_now=real_now, lease_until=real_now + LEASE,
                                  owner=this_process())
    restarted = create_service(runtime.settings, clock=clock)
    await restarted.start(smtp=False, slack=False, scheduler=False, http=False)
    try:
        await restarted.delivery.deliver_due()
        # The started service's own round may hold the dead holder's rows a moment longer:
        # wait for them (not for the live holder's, which stay with it).
        for _ in range(500):
            async with restarted.store.reader() as unit:
                states = [r.status for r in await unit.outbound.by_ids(ids)]
            if states[:2] == ["sent", "sent"]:
                break
            await asyncio.sleep(0.02)
    finally:
        await restarted.stop()
    assert states == ["sent", "sent", "sending"]  # the dead holder's at once; the live one's left to it
    assert len(relay.messages) == 2
