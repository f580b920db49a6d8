"""Sends fenced by their lease, against a real SMTP relay: an instance frozen (SIGSTOP)
while it holds a round, another that takes the round over once the lease runs out, and
the frozen one woken (SIGCONT): it sends nothing the other has taken, so every reply
reaches the relay exactly once. And a result is recorded only by the claim that still
holds the row."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP

from intake.outbox.dispatch import LEASE
from tests.campaign_seed import submit
from tests.conftest import Relay

HERE = Path(__file__).resolve().parent
SHORT_LEASE = 2.0  # seconds: the frozen instance's rows are taken over soon


class Freezer:
    """Stops the sending process as it opens connection number `at` to the relay, before
    the relay greets it (nothing of that message has left), and holds the greeting back
    until the test lets it go: the process is frozen waiting on the relay, mid-round."""

    def __init__(self, at: int) -> None:
        self.at, self.connections, self.pid = at, 0, 0
        self.frozen, self.thawed = asyncio.Event(), asyncio.Event()

    async def greeting(self) -> None:
        self.connections += 1
        if self.connections == self.at:
            os.kill(self.pid, signal.SIGSTOP)
            self.frozen.set()
            await self.thawed.wait()


class FreezingSMTP(SMTP):
    def __init__(self, handler: Relay, freezer: Freezer) -> None:
        super().__init__(handler)
        self.freezer = freezer

    async def push(self, status: str) -> None:  # type: ignore[override]
        if status.startswith("220 "):
            await self.freezer.greeting()
        await super().push(status)


async def _replies_due(runtime, councils: int) -> list[int]:
    await runtime.delivery.stop()  # this test drives delivery itself
    for council in [c for c in runtime.councils if c.email_domains][:councils]:
        await submit(runtime, "pbr-pathfinder", council.name, sender=f"officer@{council.email_domains[0]}")
    async with runtime.store.reader() as unit:
        return [row.id for row in await unit.outbound.due(runtime.clock(), channel="email")]


async def _statuses(runtime, ids: list[int]) -> list[str]:
    async with runtime.store.reader() as unit:
        return [row.status for row in await unit.outbound.by_ids(ids)]


async def _take_over(runtime, ids: list[int], *, timeout: float) -> None:
    """This instance sends what the frozen one held, once its leases have run out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while set(await _statuses(runtime, ids)) != {"sent"}:
        assert loop.time() < deadline, await _statuses(runtime, ids)
        await runtime.delivery.deliver_due()
        await asyncio.sleep(0.1)


async def test_a_frozen_sender_woken_after_a_take_over_sends_nothing_again(runtime, relay, database_url):
    ids = await _replies_due(runtime, 8)
    assert len(ids) == 8
    freezer = Freezer(at=3)
    # The frozen instance's way to the relay; this one goes the usual way, to the same relay.
    server = await asyncio.get_running_loop().create_server(
        lambda: FreezingSMTP(relay, freezer), host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    runtime.delivery.lease = timedelta(seconds=SHORT_LEASE)
    frozen = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "sending_instance.py"), database_url, str(port), str(SHORT_LEASE),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    freezer.pid = frozen.pid
    try:
        await asyncio.wait_for(freezer.frozen.wait(), timeout=20)
        assert len(relay.messages) == 2  # it sent two, and was stopped opening the third
        await _take_over(runtime, ids, timeout=10)
        os.kill(frozen.pid, signal.SIGCONT)
        freezer.thawed.set()
        out, err = await asyncio.wait_for(frozen.communicate(), timeout=20)
    finally:
        if frozen.returncode is None:
            os.kill(frozen.pid, signal.SIGCONT)
            frozen.kill()
            await frozen.wait()
        server.close()
        await server.wait_closed()
    assert frozen.returncode == 0, err.decode()
    assert out.decode().split()[-2:] == ["sent", "2"]
    copies = Counter(str(m["To"]) for m in relay.messages)
    assert len(copies) == 8 and set(copies.values()) == {1}, copies  # every reply exactly once
    assert await _statuses(runtime, ids) == ["sent"] * 8


async def test_a_result_is_recorded_only_by_the_claim_that_holds_the_row(runtime, clock):
    ids = await _replies_due(runtime, 1)
    now = clock()
    async with runtime.store.unit() as unit:
        first = await unit.outbound.take(ids, now, lease_now=now, lease_until=now + LEASE, owner="a:1:1")
    later = now + LEASE + timedelta(seconds=1)  # the first holder froze; its lease ran out
    async with runtime.store.unit() as unit:
        second = await unit.outbound.take(ids, later, lease_now=later, lease_until=later + LEASE, owner="b:2:2")
        assert second == {ids[0]: first[ids[0]] + 1}
        # The first holder wakes: it can neither renew, nor record, what it no longer holds.
        assert await unit.outbound.renew(first, owner="a:1:1", lease_now=later, lease_until=later + LEASE) == set()
        assert not await unit.outbound.sent(ids[0], attempt=first[ids[0]], owner="a:1:1", at=later)
        assert not await unit.outbound.not_sent(ids[0], attempt=first[ids[0]], owner="a:1:1", error="x",
                                                retry_at=None)
        # The same process claiming again is another claim: the old one does not match it.
        assert not await unit.outbound.sent(ids[0], attempt=first[ids[0]], owner="b:2:2", at=later)
        assert await unit.outbound.sent(ids[0], attempt=second[ids[0]], owner="b:2:2", at=later)
    assert await _statuses(runtime, ids) == ["sent"]


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_round_longer_than_its_lease_is_not_taken_over(runtime, relay, concurrency):
    """Leases are renewed while a round is sent: a second worker finds nothing to take."""
    ids = await _replies_due(runtime, 6)
    slow = SlowCarrier(runtime.delivery.transport, seconds=0.3)
    from intake.outbox.dispatch import Dispatcher

    first = Dispatcher(runtime.store, slow, channel="email", clock=runtime.clock, concurrency=concurrency,
                       lease=timedelta(seconds=0.6))
    second = Dispatcher(runtime.store, runtime.delivery.transport, channel="email", clock=runtime.clock,
                        lease=timedelta(seconds=0.6))
    second.owner = "another:1:1"
    sending = asyncio.create_task(first.deliver_due())
    while "pending" in await _statuses(runtime, ids):  # the first has claimed the round
        await asyncio.sleep(0.01)
    taken = 0
    while not sending.done():
        taken += await second.deliver_due()
        await asyncio.sleep(0.05)
    assert await sending == 6 and taken == 0
    assert len(relay.messages) == 6 and await _statuses(runtime, ids) == ["sent"] * 6


class SlowCarrier:
    """The real carrier, each send taking `seconds` longer (a slow relay)."""

    def __init__(self, carrier, *, seconds: float) -> None:
        self.carrier, self.seconds = carrier, seconds

    async def send(self, row) -> None:
        await asyncio.sleep(self.seconds)
        await self.carrier.send(row)

    def describe(self) -> str:
        return "a slow relay"
