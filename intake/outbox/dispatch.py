"""Sending what the outbox holds, for one channel: claim a round of due rows in one
transaction, hand each to the channel's carrier, and record each result as soon as it is
known.

A claim is a lease: a row being sent carries the moment its lease runs out, and a row
whose lease has run out (its worker crashed, hung, or was frozen) is due again, in any
worker's next round, without waiting for a restart. A send is fenced by its lease: just
before the message leaves (for a carrier that can tell, once it is connected and about
to hand it over) the lease is checked and renewed in one statement, and a send whose
lease is gone is abandoned; a result is recorded only if the claim is still the row's.
So a worker that wakes from a freeze sends nothing another has taken over, and only the
message in flight at a crash or a freeze can go out twice; nothing goes out never.
Leases of a long round are renewed while it is sent. A failure is retried with the
shared backoff (`retry.py`); a refusal for good (`Refused`) ends the send at once.
Email and Slack differ only in their carrier (an SMTP relay or Maildir; chat.postMessage).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from intake.outbox.lull import PATIENCE, lull
from intake.models import OutboundMessage
from intake.outbox.outage import Outage
from intake.outbox.owners import dead_here, this_process
from intake.outbox.retry import retry_at
from intake.outbox.send_errors import LeaseLost, Refused
from intake.store import Store

log = logging.getLogger(__name__)

# How long a claim holds: longer than any send takes (the relay's 30 s timeout, Slack's
# retries after a 429), short enough that a crashed worker's rows go out again soon.
LEASE = timedelta(minutes=3)
MOMENT = 0.05  # seconds: the shortest pause between rounds when a retry is already due

class Carrier(Protocol):
    """Hands one recorded message to its channel; raises if the channel did not take it
    (`Refused` if it never will). A carrier may also have `send_fenced(row, confirm=...)`:
    the same, awaiting `confirm()` at the last moment before the message leaves, which
    raises `LeaseLost` when it must not leave."""

    async def send(self, row: OutboundMessage) -> None: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Round:
    sent: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Claim:
    """A row this worker claimed, and the attempt its claim made: with the worker's
    name, what the lease is checked by."""

    row: OutboundMessage
    attempt: int


@dataclass(frozen=True)
class Attempt:
    """How handing one message over went: sent (no error), failed (`error`; for good when
    `permanent`), or not tried because the lease was gone (`lost`)."""

    error: str | None = None
    permanent: bool = False
    lost: bool = False


class Dispatcher:
    def __init__(
        self,
        store: Store,
        transport: Carrier,
        *,
        channel: str,
        clock: Callable[[], datetime],
        round_size: int = 100,
        idle_seconds: float = 1,
        concurrency: int = 1,
        lease_clock: Callable[[], datetime] | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self.store = store
        self.transport = transport
        self.channel = channel
        self.clock = clock
        self.round_size = round_size
        # How often the worker looks for rows it was not woken for (another process's, such
        # as `cib remind`); retries due sooner are waited for exactly.
        self.idle_seconds = idle_seconds
        self.concurrency = concurrency  # sends in flight at once, within a round
        # Leases run on the real clock even when the service's is simulated (a test's
        # jump of a day must not make a send in flight look abandoned).
        self.lease_clock = lease_clock or (lambda: datetime.now(timezone.utc))
        self.lease = lease
        self.owner = this_process()
        self._wake = asyncio.Event()
        self._full = False  # the last round took as many as it could: more may be due
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
        """Send one round of what is due now (claimed in one commit, each result recorded
        in its own); returns how many were sent."""
        async with self.store.reader() as unit:
            due = await unit.outbound.due(
                self.clock(), channel=self.channel, limit=self.round_size, lease_now=self.lease_clock()
            )
        self._full = len(due) >= self.round_size
        if not due:
            return 0
        # Keeping arriving messages comes first; sending waits a little for a lull.
        await lull(lambda: self.store.keeping, at_most=PATIENCE)
        now, lease_now = self.clock(), self.lease_clock()
        async with self.store.unit() as unit:
            taken = await unit.outbound.take(
                [row.id for row in due], now, lease_now=lease_now, lease_until=lease_now + self.lease,
                owner=self.owner,
            )
        return (await self._send_and_record([Claim(row, taken[row.id]) for row in due if row.id in taken])).sent

    async def _send_and_record(self, claimed: list[Claim]) -> Round:
        limit = asyncio.Semaphore(self.concurrency)

        async def send(claim: Claim, held: dict[int, int]) -> Attempt:
            async with limit:
                if claim.row.id not in held:  # a renewal found it taken over
                    attempt = Attempt(lost=True)
                else:
                    attempt = await self._send(claim)
                await self._record(claim, attempt)
                held.pop(claim.row.id, None)
                return attempt

        async with self._renewing(claimed) as held:
            attempts = await asyncio.gather(*(send(claim, held) for claim in claimed))
        failed = sum(a.error is not None for a in attempts)
        return Round(sent=sum(a.error is None and not a.lost for a in attempts), failed=failed)

    @asynccontextmanager
    async def _renewing(self, claimed: list[Claim]) -> AsyncIterator[dict[int, int]]:
        """The claims of a round not yet done (id -> attempt), their leases renewed every
        third of a lease while the round is sent, so a long round does not outlive them.
        A claim a renewal finds taken over (this process was frozen, say) is dropped."""
        held = {claim.row.id: claim.attempt for claim in claimed}

        async def renew() -> None:
            while held:
                await asyncio.sleep(self.lease.total_seconds() / 3)
                lease_now = self.lease_clock()
                try:
                    async with self.store.unit() as unit:
                        kept = await unit.outbound.renew(dict(held), owner=self.owner, lease_now=lease_now,
                                                          lease_until=lease_now + self.lease)
                except Exception as error:  # noqa: BLE001 - the store is away: each send's own check decides
                    log.debug("renewing %s leases failed: %s", self.channel, error)
                    continue
                for outbound_id in set(held) - kept:
                    held.pop(outbound_id, None)

        task = asyncio.create_task(renew(), name=f"{self.channel}-leases")
        try:
            yield held
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _confirm(self, claim: Claim) -> None:
        """The lease is still ours, now renewed; `LeaseLost` if not (or if the store cannot
        say: a message sent that cannot be recorded would go again)."""
        lease_now = self.lease_clock()
        try:
            async with self.store.unit() as unit:
                kept = await unit.outbound.renew({claim.row.id: claim.attempt}, owner=self.owner,
                                                 lease_now=lease_now, lease_until=lease_now + self.lease)
        except Exception as error:  # noqa: BLE001
            raise LeaseLost(f"the lease could not be checked: {error}") from error
        if not kept:
            raise LeaseLost(f"{self.channel} {claim.row.id}: the lease ran out or was taken over")

    async def _record(self, claim: Claim, attempt: Attempt) -> None:
        """The result of one send, committed before the next: a crash after this loses
        nothing and repeats nothing. Recorded only while the claim is still the row's."""
        row = claim.row
        if attempt.lost:
            log.info("%s %s not sent here: its lease was lost (another worker has it)", self.channel, row.id)
            return
        async with self.store.unit() as unit:
            if attempt.error is None:
                recorded = await unit.outbound.sent(row.id, attempt=claim.attempt, owner=self.owner, at=self.clock())
            else:
                again = None if attempt.permanent else retry_at(claim.attempt, self.clock())
                log.warning("sending %s %s %s (attempt %s): %s", self.channel, row.id,
                            "refused" if attempt.permanent else "failed", claim.attempt, attempt.error)
                recorded = await unit.outbound.not_sent(row.id, attempt=claim.attempt, owner=self.owner,
                                                        error=attempt.error[:1000], retry_at=again)
        if not recorded:
            log.warning("%s %s was handed over after another worker took it over: it may have gone twice",
                        self.channel, row.id)

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
            taken = await unit.outbound.take_held([r.id for r in rows], lease_until=lease_now + self.lease,
                                                  owner=self.owner)
        return await self._send_and_record([Claim(r, taken[r.id]) for r in rows if r.id in taken])

    async def _send(self, claim: Claim) -> Attempt:
        """Hand the row over, the lease confirmed at the last moment."""
        fenced = getattr(self.transport, "send_fenced", None)
        try:
            if fenced is not None:
                await fenced(claim.row, confirm=lambda: self._confirm(claim))
            else:
                await self._confirm(claim)
                await self.transport.send(claim.row)
        except LeaseLost:
            return Attempt(lost=True)
        except Refused as error:
            return Attempt(error=str(error) or "refused", permanent=True)
        except Exception as error:  # noqa: BLE001 - any other carrier failure is retried
            return Attempt(error=str(error) or type(error).__name__)
        return Attempt()

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
            pause = self.idle_seconds
            try:
                await self.deliver_due()
                outage.worked()
                # A full round is followed at once by the next (a backlog drains at the
                # carrier's pace); otherwise sleep until the next retry falls due.
                pause = 0 if self._full else await self._until_next_due()
            except Exception as error:  # noqa: BLE001 - the store is down: one line, not one a round
                outage.failed(error)
            if pause <= 0:
                await asyncio.sleep(0)  # let others run between rounds
                continue
            # asyncio.timeout, not wait_for: wait_for can swallow a cancel that lands as
            # the event fires (Python 3.11), and stop() would then wait for ever.
            try:
                async with asyncio.timeout(pause):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def _until_next_due(self) -> float:
        """Seconds to wait: until the earliest pending retry, at most `idle_seconds` (how
        soon rows another process records are seen), at least a moment."""
        async with self.store.reader() as unit:
            due = await unit.outbound.next_due(channel=self.channel)
        if due is None:
            return self.idle_seconds
        return min(self.idle_seconds, max(MOMENT, (due - self.clock()).total_seconds()))

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

