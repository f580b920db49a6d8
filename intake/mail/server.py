"""Inbound SMTP (aiosmtpd), in the service's own event loop.

The handler only translates: a bad recipient is refused at RCPT (550), a message is kept
by the service before we answer 250 (RFC 5321 §6.1: after 250 it is our responsibility),
a failure to keep it is a 451 so the sender's server tries again, and the work of reading
and answering it happens after the 250, on a queue. The one message the database will
not take at all, for what is in it, is refused for good (554, with the reason) rather
than asked for again for ever.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

from intake.parsing.confirmation_tokens import base_address
from intake.outbox.lull import PATIENCE, lull
from intake.messages import Inbound, Kept, storable
from intake.outbox.outage import Outage
from intake.store import Unkeepable

log = logging.getLogger(__name__)

# What we note of the envelope beside the raw message: a line's length is plenty (an
# address is at most 320 characters; aiosmtpd lets longer ones through to us).
ENVELOPE_FIELD = 998


def _noted(text: str) -> str:
    return (storable(text) or "")[:ENVELOPE_FIELD]


def external_id(raw: bytes, message_id: str | None) -> str:
    """Message-ID when there is one; otherwise the content's hash, so a resend is still
    recognised."""
    if message_id and message_id.strip():
        return message_id.strip()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def peek_headers(raw: bytes) -> tuple[str | None, str]:
    """Message-ID and Subject, read cheaply; never raises on broken headers."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        message_id = headers.get("Message-ID")
        subject = headers.get("Subject") or ""
        return (str(message_id).strip() if message_id else None), " ".join(str(subject).split())[:998]
    except Exception:  # noqa: BLE001 - malformed input gets kept all the same
        return None, ""


class IntakeHandler:
    def __init__(
        self,
        *,
        keep: Callable[[Inbound], Awaitable[Kept]],
        addresses: list[str],
        on_kept: Callable[[int], None],
    ) -> None:
        self.keep = keep
        self.addresses = {address.lower() for address in addresses}
        self.on_kept = on_kept
        self.outage = Outage(log, "keeping inbound mail")

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        # eoi+anything@ is eoi@ (confirmation replies come to eoi+confirm-<token>@).
        if base_address(address.lower()) not in self.addresses:
            return f"550 5.1.1 <{address}>: no such intake address here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        message_id, subject = peek_headers(raw)
        mail_from = envelope.mail_from or ""
        inbound = Inbound(
            channel="email",
            raw=raw,
            sender=mail_from if "@" in mail_from else None,
            external_id=external_id(raw, message_id),
            subject=subject,
            meta={
                "envelope_from": _noted(mail_from),
                "rcpt_tos": [_noted(r) for r in envelope.rcpt_tos],
                "peer": _peer(session),
                "helo": _noted(str(session.host_name or "")),
            },
        )
        try:
            kept = await self.keep(inbound)
        except Unkeepable as refused:  # the same message would fail the same way again
            return f"554 5.6.0 This message cannot be kept: {refused.reason}; it will not be accepted as it is"
        except Exception as error:  # noqa: BLE001 - our fault: the sender must try again
            self.outage.failed(error)
            return "451 4.3.0 Temporary failure storing the message; please try again later"
        self.outage.worked()
        if not kept.duplicate:
            self.on_kept(kept.id)
        return f"250 2.0.0 OK: kept as {kept.id}"


def _peer(session: Session) -> str:
    peer: Any = session.peer
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")


Finish = Callable[[], Awaitable[Any]]
Prepare = Callable[..., Awaitable[Finish]]

LOOKAHEAD = 8  # messages prepared (read, sender-checked, parsed) ahead of the one being recorded


class ProcessingQueue:
    """Processes kept messages after the 250, in the background, in arrival order.

    Each message is processed in two halves (`IntakeService.prepare`): the first (reading
    its documents, the sender's DNS checks, parsing) runs for up to `lookahead` messages at
    once, since most of its time is spent waiting; the second records the outcome, by
    `workers` at a time (one on SQLite), in the order the messages were queued."""

    def __init__(
        self,
        prepare: Prepare,
        *,
        workers: int = 1,
        lookahead: int = LOOKAHEAD,
        busy: Callable[[], bool] = lambda: False,
        patience: float = PATIENCE,
    ) -> None:
        self.prepare = prepare
        # While messages are arriving, keeping them (and answering 250) goes first:
        # processing waits for a lull, but never longer than `patience` per message, so
        # a burst is accepted at full speed and its replies follow it.
        self.busy = busy
        self.patience = patience
        self.queue: asyncio.Queue[tuple[int, bool]] = asyncio.Queue()
        self.workers = workers
        self._ahead = asyncio.Semaphore(max(lookahead, workers))
        # Messages being prepared, in queue order, for the workers that record them.
        self._prepared: asyncio.Queue[tuple[int, asyncio.Task[Finish]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._waiting: set[int] = set()  # queued or in hand: not queued twice
        self.outage = Outage(log, "processing kept messages")

    def put(self, inbound_id: int, *, again: bool = False) -> None:
        """`again`: a message processed before (and failed), to be processed anew."""
        if inbound_id in self._waiting:
            return
        self._waiting.add(inbound_id)
        self.queue.put_nowait((inbound_id, again))

    async def _feed(self) -> None:
        while True:
            inbound_id, again = await self.queue.get()
            await lull(self.busy, at_most=self.patience)
            await self._ahead.acquire()
            task = asyncio.create_task(self.prepare(inbound_id, again=again), name=f"prepare-{inbound_id}")
            self._prepared.put_nowait((inbound_id, task))

    async def _work(self) -> None:
        while True:
            inbound_id, task = await self._prepared.get()
            try:
                finish = await task
                outcome = await finish()
                if getattr(outcome, "classification", None) == "failed":
                    self.outage.failed(RuntimeError(f"message {inbound_id} could not be processed"))
                else:
                    self.outage.worked()
            except Exception as error:  # noqa: BLE001 - the store is down: the recovery sweep retries it
                self.outage.failed(error)
            finally:
                self._ahead.release()
                self._waiting.discard(inbound_id)
                self.queue.task_done()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._feed(), name="inbound-feed")]
        self._tasks += [asyncio.create_task(self._work(), name=f"inbound-{n}") for n in range(self.workers)]

    async def drain(self) -> None:
        await self.queue.join()

    async def stop(self) -> None:
        await self.drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


_UNSAFE_IN_REPLY = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class IntakeSMTP(SMTP):
    """aiosmtpd's server, liberal in line length: RFC 5321 allows 1,000 bytes a line, but
    real clients send longer ones (Office 365 bounces, some mail apps' replies), and a
    person's mail must never get a permanent 500 for it. The message size limit (552)
    stays the guard."""

    line_length_limit = 1_000_000

    async def push(self, status: AnyStr) -> None:
        # aiosmtpd repeats an unknown command in its reply: what a client sent must not
        # break the reply's line (a bare CR) or reach the client as a control character.
        if isinstance(status, str):
            status = _UNSAFE_IN_REPLY.sub("?", status)
        await super().push(status)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        # The standard library's address parser raises more than HeaderParseError on some
        # input (`MAIL FROM:a@` is an IndexError): that is a malformed address (553), not
        # aiosmtpd's "500 Error" for an exception.
        try:
            return super()._getaddr(arg)
        except Exception:  # noqa: BLE001
            return None, None


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side of STARTTLS, from a certificate chain and its key (PEM files)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def start_smtp(
    handler: IntakeHandler,
    *,
    host: str,
    port: int,
    data_size_limit: int,
    hostname: str | None = None,
    tls: ssl.SSLContext | None = None,
    require_tls: bool = False,
) -> asyncio.AbstractServer:
    """With `tls`, STARTTLS is offered; with `require_tls` too, nothing but EHLO, STARTTLS
    and QUIT is accepted before it (530)."""
    if require_tls and tls is None:
        raise ValueError("STARTTLS cannot be required without a certificate and key")
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: IntakeSMTP(
            handler,
            data_size_limit=data_size_limit,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="CIB intake",
            tls_context=tls,
            require_starttls=require_tls,
        ),
        host=host,
        port=port,
    )
