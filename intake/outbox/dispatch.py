"""Sending what the outbox holds, for one channel: claim a round of due rows in one
transaction, hand each to the channel's carrier, record the results in another.

A row is marked sent only after the carrier took it; a failure is retried with the
shared backoff (`retry.py`) and never marked sent. Email and Slack differ only in their
carrier (an SMTP relay or Maildir; chat.postMessage).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from intake.lull import PATIENCE, lull
from intake.models import OutboundMessage
from intake.outbox.retry import retry_at
from intake.store import Store

log = logging.getLogger(__name__)

STALE = timedelta(minutes=10)  # a claim older than this was left by a stopped worker


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
    ) -> None:
        self.store = store
        self.transport = transport
        self.channel = channel
        self.clock = clock
        self.round_size = round_size
        self.idle_seconds = idle_seconds  # how often the worker looks for retries due
        self.concurrency = concurrency  # sends in flight at once, within a round
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def deliver_due(self) -> int:
        """Send one round of what is due now (claimed in one commit, results recorded in
        another: two a round rather than two a message); returns how many were sent."""
        async with self.store.reader() as unit:
            due = await unit.outbound.due(self.clock(), channel=self.channel, limit=self.round_size)
        if not due:
            return 0
        # Keeping arriving messages comes first; sending waits a little for a lull.
        await lull(lambda: self.store.keeping, at_most=PATIENCE)
        async with self.store.unit() as unit:
            taken = await unit.outbound.claim([row.id for row in due], self.clock())
        return (await self._send_and_record([row for row in due if row.id in taken])).sent

    async def _send_and_record(self, claimed: list[OutboundMessage]) -> Round:
        limit = asyncio.Semaphore(self.concurrency)

        async def send(row: OutboundMessage) -> str | None:
            async with limit:
                return await self._send(row)

        errors = await asyncio.gather(*(send(row) for row in claimed))
        async with self.store.unit() as unit:
            sent = [row.id for row, error in zip(claimed, errors, strict=True) if error is None]
            await unit.outbound.sent(sent, self.clock())
            for row, error in zip(claimed, errors, strict=True):
                if error is not None:
                    attempt = row.attempts + 1
                    log.warning("sending %s %s failed (attempt %s): %s", self.channel, row.id, attempt, error)
                    await unit.outbound.not_sent(
                        row.id, attempt=attempt, error=error[:1000], retry_at=retry_at(attempt, self.clock())
                    )
        failed = sum(error is not None for error in errors)
        return Round(sent=len(errors) - failed, failed=failed)

    async def send_held(self, outbound_ids: list[int]) -> Round:
        """Send now the rows held for this channel (see `intake/pipeline/record.py`):
        they are ours until the hold runs out, so no claim is needed. Those not sent are
        retried by the dispatcher with the usual backoff."""
        if not outbound_ids:
            return Round()
        async with self.store.reader() as unit:
            rows = [r for r in await unit.outbound.by_ids(outbound_ids) if r.status == "pending"]
        return await self._send_and_record(rows)

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

    async def release_stale(self) -> int:
        """Sends a stopped worker left half done go back in the queue (at start)."""
        async with self.store.unit() as unit:
            return await unit.outbound.release_stale(self.clock() - STALE, channel=self.channel)

    async def run(self) -> None:
        await self.release_stale()
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("%s delivery round failed", self.channel)
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
            self._task = asyncio.create_task(self.run(), name=f"{self.channel}-delivery")

    async def stop(self) -> None:
        if self._task:
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

