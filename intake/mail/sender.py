"""Outbound email: the queue in `outbound_messages` is drained to an SMTP relay
(aiosmtplib) or, with no relay set, to a local Maildir outbox.

A message is recorded before it is sent, claimed by one worker, and marked sent only
after the relay accepted it; a failure is retried with backoff and never marked sent.
"""
from __future__ import annotations

import asyncio
import logging
import mailbox
from collections.abc import Callable
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol

import aiosmtplib

from intake.lull import PATIENCE, lull
from intake.store import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))


class Transport(Protocol):
    async def send(self, message: bytes, *, sender: str, recipients: list[str]) -> None: ...


class RelayTransport:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30,
    ) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    async def send(self, message: bytes, *, sender: str, recipients: list[str]) -> None:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout,
        )
        # The client object, not aiosmtplib.send(): it accepts the null reverse-path "".
        async with client:
            await client.sendmail(sender, recipients, message)

    def describe(self) -> str:
        return f"relay {self.host}:{self.port}"


class MaildirTransport:
    """A local Maildir: what would have been sent, readable with any mail client."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: bytes, *, sender: str, recipients: list[str]) -> None:
        await asyncio.to_thread(self._add, message)

    def _add(self, message: bytes) -> None:
        box = mailbox.Maildir(self.directory, create=True)
        box.add(message)

    def describe(self) -> str:
        return f"outbox {self.directory}"


def recipients_of(message: bytes) -> list[str]:
    parsed = BytesHeaderParser().parsebytes(message)
    fields = [str(parsed.get(name, "")) for name in ("To", "Cc")]
    return [address for _, address in getaddresses(fields) if address]


class Delivery:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        *,
        envelope_sender: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.transport = transport
        self.envelope_sender = envelope_sender
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def deliver_due(self) -> int:
        """Send what is due now; returns how many were sent."""
        now = self.clock()
        async with self.store.reader() as unit:
            due = {row.id: row for row in await unit.outbound_due(now)}
        if not due:
            return 0
        # Keeping arriving messages comes first; sending waits a little for a lull.
        await lull(lambda: self.store.keeping, at_most=PATIENCE)
        # Claim the round in one transaction, send, then record the results in another:
        # two commits a round rather than two a message.
        async with self.store.unit() as unit:
            claimed = [i for i in due if await unit.claim_outbound(i, self.clock())]
        results = [await self._send_one(due[i].id, due[i].body, due[i].recipient, due[i].kind) for i in claimed]
        async with self.store.unit() as unit:
            for outbound_id, error in zip(claimed, results, strict=True):
                attempt = due[outbound_id].attempts + 1
                if error is None:
                    await unit.finish_outbound(outbound_id, sent_at=self.clock(), error=None, retry_at=None)
                    continue
                retry_at = None
                if attempt < MAX_ATTEMPTS:
                    retry_at = self.clock() + BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]
                log.warning("sending outbound %s failed (attempt %s): %s", outbound_id, attempt, error)
                await unit.finish_outbound(outbound_id, sent_at=None, error=error[:1000], retry_at=retry_at)
        return sum(error is None for error in results)

    async def _send_one(self, outbound_id: int, body: bytes, recipient: str, kind: str) -> str | None:
        """None when the relay (or outbox) took it; otherwise what went wrong."""
        # Replies go out with a null reverse-path (RFC 3834 §3.3): nothing bounces back into a loop.
        sender = "" if kind.startswith("reply-") else self.envelope_sender
        try:
            await self.transport.send(body, sender=sender, recipients=recipients_of(body) or [recipient])
        except Exception as error:  # noqa: BLE001 - any transport failure is retried
            return str(error) or type(error).__name__
        return None

    async def flush(self, *, timeout: float = 30) -> None:
        """Send what is due and wait for sends other workers have in hand to finish."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            await self.deliver_due()
            async with self.store.reader() as unit:
                busy = await unit.outbound_sending()
            if not busy or asyncio.get_running_loop().time() > deadline:
                return
            await asyncio.sleep(0.02)

    async def release_stale(self) -> int:
        """Sends a stopped worker left half done go back in the queue (at start)."""
        async with self.store.unit() as unit:
            return await unit.release_stale_sending(self.clock() - timedelta(minutes=10))

    async def run(self, *, idle_seconds: float = 15) -> None:
        await self.release_stale()
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("outbound delivery round failed")
            # asyncio.timeout, not wait_for: wait_for can swallow a cancel that lands as
            # the event fires (Python 3.11), and stop() would then wait for ever.
            try:
                async with asyncio.timeout(idle_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbound-delivery")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        # Whatever is due goes out before we stop, if the transport is up.
        await self.deliver_due()
