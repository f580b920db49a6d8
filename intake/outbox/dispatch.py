"""Sending what the outbox holds, for one channel: claim a round of due rows in one
transaction, hand each to the channel's carrier, and record each result as soon as it is
known.

A claim is a lease: a row being sent carries the moment its lease runs out, and a row
whose lease has run out (its worker crashed, or hung) is due again, in any worker's next
round, without waiting for a restart. A row is marked sent only after the carrier took
it, in its own transaction straight after the send, so a crash can leave at most the
message in flight unrecorded: that one may go out twice, nothing goes out never. A
failure is retried with the shared backoff (`retry.py`). Email and Slack differ only in
their carrier (an SMTP relay or Maildir; chat.postMessage).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from intake.outbox.lull import PATIENCE, lull
from intake.models import OutboundMessage
from intake.outbox.outage import Outage
from intake.outbox.owners import dead_here, this_process
from intake.outbox.retry import retry_at
from intake.store import Store

log = logging.getLogger(__name__)

# How long a claim holds: longer than any send takes (the relay's 30 s timeout, Slack's
# retries after a 429), short enough that a crashed worker's rows go out again soon.
LEASE = timedelta(minutes=3)


class Carrier(Protocol):
    """Hands one recorded message to its channel; raises if the channel did not take it."""

    async def send(self, row: OutboundMessage) -> None: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Round:
    sent: int = 0
    failed: int = 0


class Dispatcher:
    def __init__(
        self,
        store: Store,
        transport: Carrier,
        *,
        channel: str,
        clock: Callable[[], datetime],
        round_size: int = 100,
        idle_seconds: float = 15,
        concurrency: int = 1,
        lease_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        self.channel = channel
        self.clock = clock
        self.round_size = round_size
        self.idle_seconds = idle_seconds  # how often the worker looks for retries due
        self.concurrency = concurrency  # sends in flight at once, within a round
        # Leases run on the real clock even when the service's is simulated (a test's
        # jump of a day must not make a send in flight look abandoned).
        self.lease_clock = lease_clock or (lambda: datetime.now(timezone.utc))
        self.owner = this_process()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    async def release_dead(self) -> int:
        """Sends left "sending" by a process on this machine that has since died (a
        crash, a kill) are due again at once rather than when their lease runs out."""
        async with self.store.reader() as unit:
            owners = await unit.outbound.lease_owners()
        dead = [owner for owner in owners if dead_here(owner)]
        if not dead:
            return 0
        async with self.store.unit() as unit:
            released = await unit.outbound.release(dead, lease_now=self.lease_clock())
        log.warning("%s sends left in hand by a process that has gone are due again now", released)
        return released

    async def deliver_due(self) -> int:
        """Send one round of what is due now (claimed in one commit, results recorded in
        another: two a round rather than two a message); returns how many were sent."""
        async with self.store.reader() as unit:
            due = await unit.outbound.due(
                self.clock(), channel=self.channel, limit=self.round_size, lease_now=self.lease_clock()
            )
        if not due:
            return 0
        # Keeping arriving messages comes first; sending waits a little for a lull.
        await lull(lambda: self.store.keeping, at_most=PATIENCE)
        now, lease_now = self.clock(), self.lease_clock()
        async with self.store.unit() as unit:
            taken = await unit.outbound.claim(
                [row.id for row in due], now, lease_now=lease_now, lease_until=lease_now + LEASE, owner=self.owner
            )
        return (await self._send_and_record([row for row in due if row.id in taken])).sent

    async def _send_and_record(self, claimed: list[OutboundMessage]) -> Round:
        limit = asyncio.Semaphore(self.concurrency)

        async def send(row: OutboundMessage) -> str | None:
            async with limit:
                error = await self._send(row)
                await self._record(row, error)
                return error

        errors = await asyncio.gather(*(send(row) for row in claimed))
        failed = sum(error is not None for error in errors)
        return Round(sent=len(errors) - failed, failed=failed)

    async def _record(self, row: OutboundMessage, error: str | None) -> None:
        """The result of one send, committed before the next: a crash after this loses
        nothing and repeats nothing."""
        async with self.store.unit() as unit:
            if error is None:
                await unit.outbound.sent([row.id], self.clock())
                return
            attempt = row.attempts + 1
            log.warning("sending %s %s failed (attempt %s): %s", self.channel, row.id, attempt, error)
            await unit.outbound.not_sent(
                row.id, attempt=attempt, error=error[:1000], retry_at=retry_at(attempt, self.clock())
            )

    async def send_held(self, outbound_ids: list[int]) -> Round:
        """Send now the rows held for this channel (see `intake/pipeline/record_replies.py`).
        They are claimed on a lease first, as the dispatcher claims: a hold that ran out
        while the caller was slow lets the dispatcher take a row over, and then exactly
        one of the two sends it. Those not sent are retried with the usual backoff."""
        if not outbound_ids:
            return Round()
        async with self.store.reader() as unit:
            rows = [r for r in await unit.outbound.by_ids(outbound_ids) if r.status == "pending"]
        lease_now = self.lease_clock()
        async with self.store.unit() as unit:
            taken = await unit.outbound.claim_held([r.id for r in rows], lease_until=lease_now + LEASE,
                                                   owner=self.owner)
        return await self._send_and_record([r for r in rows if r.id in taken])

    async def _send(self, row: OutboundMessage) -> str | None:
        """None when the carrier took it; otherwise what went wrong."""
        try:
            await self.transport.send(row)
        except Exception as error:  # noqa: BLE001 - any carrier failure is retried
            return str(error) or type(error).__name__
        return None

    async def flush(self, *, timeout: float = 30) -> None:
        """Send what is due and wait for sends other workers have in hand to finish."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            while await self.deliver_due():
                pass
            async with self.store.reader() as unit:
                busy = await unit.outbound.sending(channel=self.channel)
            if not busy or asyncio.get_running_loop().time() > deadline:
                return
            await asyncio.sleep(0.02)

    async def run(self) -> None:
        outage = Outage(log, f"{self.channel} delivery")
        while not self._stopping:
            try:
                await self.deliver_due()
                outage.worked()
            except Exception as error:  # noqa: BLE001 - the store is down: one line, not one a round
                outage.failed(error)
            # asyncio.timeout, not wait_for: wait_for can swallow a cancel that lands as
            # the event fires (Python 3.11), and stop() would then wait for ever.
            try:
                async with asyncio.timeout(self.idle_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name=f"{self.channel}-delivery")

    async def stop(self, *, grace: float = 30) -> None:
        """Let the round in hand finish (its results recorded), then stop; a send that
        hangs past `grace` is cancelled, and its lease lets another round retry it."""
        if self._task:
            self._stopping = True
            self._wake.set()
            try:
                async with asyncio.timeout(grace):
                    await asyncio.shield(self._task)
            except TimeoutError:
                self._task.cancel()
                try:
                    await self._task
                except asyncio.CancelledError:
                    pass
            self._task = None
        # Whatever is due goes out before we stop, if the carrier is up.
        try:
            await self.deliver_due()
        except Exception:  # noqa: BLE001 - kept in the outbox for the next start
            log.exception("%s delivery at stop failed", self.channel)
        close = getattr(self.transport, "close", None)
        if close is not None:
            await close()

