"""The mailbox channel: mail that councils send to an existing mailbox (CIB_IMAP_URL) is
fetched, kept, then moved to the done mailbox (CIB_IMAP_DONE_MAILBOX).

Keeping comes first and uses the SMTP channel's keeping and dedupe (Message-ID, or the
content's hash): a crash between keeping and moving finds the message kept already, so
it is moved and never answered twice. A message that cannot be kept stays where it is
and is tried again with backoff; a dropped connection is opened again with backoff.
New mail is noticed at once with IDLE (RFC 2177) where the server offers it, renewed every
IDLE_RENEW seconds (before the server's 30-minute timeout); otherwise by polling every
CIB_IMAP_POLL_SECONDS, which also keeps the connection alive. Logged in with an OAuth
token, the channel logs in again before the token expires. The IMAP commands run on one
worker thread.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any, TypeVar

from intake.mail.imap_session import ImapSession, MailboxRefused
from intake.mail.imap_url import ImapTarget
from intake.mail.oauth_tokens import TokenRefused, TokenSource
from intake.mail.server import external_id, peek_headers
from intake.messages import Inbound, Kept, storable
from intake.store import Unkeepable

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMEOUT = 30.0  # seconds for any one IMAP command: a server that stops answering is dropped
RECONNECT_AT_MOST = 60.0  # seconds between attempts to reach the server, at the longest
RETRY_AT_MOST = 600.0  # seconds before a message that could not be kept is tried again, at the longest
# RFC 2177: a server may end an IDLE after 30 minutes; the client renews it before (29 at most).
IDLE_RENEW = 25 * 60.0
RELOGIN_BEFORE = 120.0  # seconds before an OAuth token expires that the channel logs in again
# Headers a delivering server writes with the envelope's recipient (confirmation tokens
# come as eoi+confirm-<token>@), read beside To and Cc.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")
ADDRESS = 998


def backoff(attempts: int, *, at_most: float) -> float:
    """Seconds to wait after `attempts` failures in a row: 1, 2, 4 ... up to `at_most`."""
    return float(min(2 ** max(attempts - 1, 0), at_most))


def mailbox_inbound(raw: bytes, *, source: str) -> Inbound:
    """The message as the service keeps it: as the SMTP listener would, with the envelope
    read from the headers the delivering server wrote (Return-Path, Delivered-To)."""
    message_id, subject = peek_headers(raw)
    return_path, recipients, from_ = _envelope(raw)
    sender = return_path if return_path and "@" in return_path else from_
    meta: dict[str, Any] = {"mailbox": source, "rcpt_tos": recipients}
    if return_path is not None:
        meta["envelope_from"] = return_path  # "" is a null return path: never answered
    return Inbound(channel="email", raw=raw, sender=sender or None, external_id=external_id(raw, message_id),
                   subject=subject, meta=meta)


def _envelope(raw: bytes) -> tuple[str | None, list[str], str | None]:
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        path = headers.get("Return-Path")
        return_path = None if path is None else str(path).strip().strip("<>").strip()
        recipients = [a for _, a in getaddresses([str(v) for n in RECIPIENT_HEADERS for v in headers.get_all(n) or []])
                      if "@" in a]
        senders = [a for _, a in getaddresses([str(v) for v in headers.get_all("From") or []]) if "@" in a]
    except Exception:  # noqa: BLE001 - malformed headers: kept all the same
        return None, [], None
    noted = [(storable(a) or "")[:ADDRESS] for a in recipients[:20]]
    return ((storable(return_path) or "")[:ADDRESS] if return_path is not None else None), noted, \
        (senders[0][:ADDRESS] if senders else None)


@dataclass
class MailboxState:
    """What /healthz and /metrics tell of the mailbox."""

    connected: bool = False
    last_fetch: datetime | None = None  # the last time the mailbox was read through
    waiting: int | None = None  # messages in the mailbox still to keep and move
    error: str | None = None  # why the last attempt failed, while it does

    def report(self) -> dict[str, Any]:
        return {"connected": self.connected, "last_fetch": self.last_fetch.isoformat() if self.last_fetch else None,
                "last_fetch_unix": self.last_fetch.timestamp() if self.last_fetch else None,
                "waiting": self.waiting, "error": self.error}


@dataclass
class _Retry:
    attempts: int = 0
    due: float = 0.0


@dataclass
class MailboxFetcher:
    target: ImapTarget
    secret: str | TokenSource  # the password, or where OAuth access tokens come from
    done_mailbox: str
    keep: Callable[[Inbound], Awaitable[Kept]]
    on_kept: Callable[[int], None]
    clock: Callable[[], datetime]
    poll_seconds: float = 5.0
    use_move: bool = True  # False: COPY, \Deleted and EXPUNGE even where MOVE is offered
    use_idle: bool = True  # False: poll even where IDLE is offered
    state: MailboxState = field(default_factory=MailboxState)
    _retries: dict[str, _Retry] = field(default_factory=dict)
    _thread: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="imap"))
    _session: ImapSession | None = None
    _task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _interrupt: threading.Event = field(default_factory=threading.Event)  # ends an IDLE early

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mailbox")
        log.info("Reading mail from %s (done mail goes to %s)", self.target.shown(), self.done_mailbox)

    async def stop(self) -> None:
        self._interrupt.set()  # the worker thread leaves IDLE, so the logout queued behind it runs
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._drop()
        self._thread.shutdown(wait=False)

    def wake(self) -> None:
        """Read the mailbox now rather than at the next poll or the end of an IDLE."""
        self._wake.set()
        self._interrupt.set()

    async def _call(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # One thread: the commands of one connection never overlap, and a command still
        # running when the task is cancelled finishes before the logout queued after it.
        return await asyncio.get_running_loop().run_in_executor(self._thread, lambda: work(*args, **kwargs))

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._connect()
                failures = 0
                await self._serve()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the server or the network: try again later
                failures += 1
                self.state.connected = False
                self.state.error = str(error) or type(error).__name__
                wait = backoff(failures, at_most=RECONNECT_AT_MOST)
                level = logging.ERROR if isinstance(error, MailboxRefused | TokenRefused) else logging.WARNING
                log.log(level, "Mailbox %s: %s; trying again in %g s", self.target.shown(), self.state.error, wait)
                await self._drop()
                await asyncio.sleep(wait)

    async def _serve(self) -> None:
        """Read the mailbox through and wait for more, until the login is about to expire."""
        session = self._session
        assert session is not None
        while not _expiring(session):
            self._wake.clear()
            self._interrupt.clear()  # cleared before reading: a wake() while reading is not lost
            await self.fetch_once()
            await self._wait(session)
        log.info("Mailbox %s: logging in again before the access token expires", self.target.shown())
        await self._drop()

    async def _wait(self, session: ImapSession) -> None:
        """Until new mail may be there: told by IDLE, or the poll's interval passed."""
        seconds = self._wait_at_most(session)
        if self.use_idle and session.capable("IDLE"):
            await self._call(session.idle, seconds, self._interrupt)
            return
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=min(seconds, self.poll_seconds))
        except TimeoutError:
            pass

    def _wait_at_most(self, session: ImapSession) -> float:
        """Seconds until the IDLE is renewed, a message is retried or the login expires."""
        now = time.monotonic()
        until = [IDLE_RENEW, *(retry.due - now for retry in self._retries.values())]
        if session.valid_until is not None:
            until.append(session.valid_until - RELOGIN_BEFORE - now)
        return max(min(until), 0.1)

    async def _connect(self) -> None:
        session = await self._call(ImapSession.open, self.target, self.secret, timeout=TIMEOUT)
        self._session = session
        await self._call(session.ensure_mailbox, self.done_mailbox)
        await self._call(session.select)
        self._retries.clear()  # UIDs belong to this connection's view of the mailbox
        self.state.connected, self.state.error = True, None
        log.info("Mailbox %s: connected", self.target.shown())

    async def _drop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await self._call(session.close)

    async def fetch_once(self) -> int:
        """Keep and move every message waiting whose turn it is: how many were moved."""
        session = self._session
        assert session is not None
        uids = await self._call(session.waiting)
        moved = 0
        for uid in uids:
            retry = self._retries.get(uid)
            if retry is not None and retry.due > time.monotonic():
                continue
            if await self._take(session, uid):
                moved += 1
        self.state.last_fetch = self.clock()
        self.state.waiting = len(uids) - moved
        return moved

    async def _take(self, session: ImapSession, uid: str) -> bool:
        raw = await self._call(session.fetch, uid)
        if raw is None:  # gone (another client moved it): nothing to keep
            return False
        try:
            kept = await self.keep(mailbox_inbound(raw, source=self.target.shown()))
        except Exception as error:  # noqa: BLE001 - it stays in the mailbox, tried again later
            retry = self._retries.setdefault(uid, _Retry())
            retry.attempts += 1
            wait = backoff(retry.attempts, at_most=RETRY_AT_MOST)
            retry.due = time.monotonic() + wait
            why = error.reason if isinstance(error, Unkeepable) else (str(error) or type(error).__name__)
            log.warning("Mailbox %s: message %s could not be kept (%s); it stays there, tried again in %g s",
                        self.target.shown(), uid, why, wait)
            return False
        self._retries.pop(uid, None)
        if not kept.duplicate:
            self.on_kept(kept.id)
        # Kept: from here a failure to move only means it is fetched again and found kept.
        await self._call(session.move, uid, self.done_mailbox, use_move=self.use_move)
        return True


def _expiring(session: ImapSession) -> bool:
    return session.valid_until is not None and session.valid_until - RELOGIN_BEFORE <= time.monotonic()


def mailbox_count(target: ImapTarget, secret: str | TokenSource, *, timeout: float = 10.0) -> int:
    """Log in and count the messages waiting (`cib check`, blocking): MailboxRefused,
    TokenRefused or OSError saying why not."""
    session = ImapSession.open(target, secret, timeout=timeout)
    try:
        return session.count()
    finally:
        session.close()
