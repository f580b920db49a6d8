"""One logged-in IMAP connection (the standard library's imaplib, blocking): the few
commands the mailbox channel needs, IDLE (RFC 2177) among them. Called from one worker
thread at a time (intake/mail/mailbox.py); nothing here decides anything.
"""
from __future__ import annotations

import imaplib
import re
import socket
import ssl
import threading
import time
from typing import Any

from intake.mail.imap_url import ImapTarget
from intake.mail.oauth_tokens import TokenSource

CHUNK = 65536
LISTEN = 1.0  # seconds each read waits while idling, between looks at whether to stop
# TCP keepalive: a connection that died without a word (a NAT forgetting it) is noticed in
# about two minutes, even while idling for much longer.
KEEPALIVE = {"TCP_KEEPIDLE": 60, "TCP_KEEPINTVL": 15, "TCP_KEEPCNT": 4}


class MailboxRefused(Exception):
    """The server (or our rule about plain text) refused us for a reason trying again
    will not change: a wrong password, no such mailbox, no TLS to a remote server."""


def _new_mail(line: bytes | None) -> bool:
    """Whether an untagged response tells of new mail (`* 12 EXISTS`)."""
    return line is not None and line.startswith(b"* ") and line.rstrip().upper().endswith(b" EXISTS")


def _log_in(connection: imaplib.IMAP4, target: ImapTarget, secret: str | TokenSource) -> float | None:
    """Logged in: when the access token expires (time.monotonic()), None with a password."""
    if isinstance(secret, str):
        connection.login(target.user, secret)
        return None
    token = secret.access_token()
    said: list[Any] = []

    def respond(challenge: bytes) -> bytes:
        # The first answer is the token; a second challenge is the server's error (JSON),
        # answered with an empty line so that the server ends with NO.
        said.append(challenge)
        return xoauth2(target.user, token.value) if len(said) == 1 else b""

    connection.authenticate("XOAUTH2", respond)
    return token.expires_at


def quoted(name: str) -> str:
    """A mailbox name as an IMAP quoted string (names may hold spaces)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: list[object]) -> str:
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data if d)


class _OwnBuffer:
    """imaplib reading through a buffer of its own rather than a socket file, so a read
    may time out (while idling) and the connection go on: a socket file that has timed out
    once refuses every later read."""

    sock: socket.socket
    _inbox: bytearray
    command_timeout: float | None

    def open(self, host: str = "", port: int = 143, timeout: float | None = None) -> None:
        self._inbox = bytearray()
        self.command_timeout = timeout
        super().open(host, port, timeout)  # type: ignore[misc]
        _keepalive(self.sock)

    def _more(self) -> bool:
        data = self.sock.recv(CHUNK)
        self._inbox += data
        return bool(data)

    def read(self, size: int) -> bytes:
        while len(self._inbox) < size and self._more():
            pass
        data = bytes(self._inbox[:size])
        del self._inbox[:size]
        return data

    def readline(self) -> bytes:
        while (end := self._inbox.find(b"\n")) < 0:
            if len(self._inbox) > imaplib._MAXLINE:  # type: ignore[attr-defined]
                raise imaplib.IMAP4.error(f"got more than {imaplib._MAXLINE} bytes")  # type: ignore[attr-defined]
            if not self._more():
                end = len(self._inbox) - 1
                break
        line = bytes(self._inbox[:end + 1])
        del self._inbox[:end + 1]
        return line


class _Plain(_OwnBuffer, imaplib.IMAP4):
    pass


class _Tls(_OwnBuffer, imaplib.IMAP4_SSL):
    pass


def _keepalive(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in KEEPALIVE.items():
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    except OSError:  # not every platform takes every option: a dead peer is found later
        pass


def xoauth2(user: str, token: str) -> bytes:
    """The XOAUTH2 initial response (Google's and Microsoft's IMAP), before base64."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


class ImapSession:
    def __init__(self, connection: imaplib.IMAP4, target: ImapTarget, *, valid_until: float | None = None) -> None:
        self.connection = connection
        self.target = target
        # time.monotonic() after which the access token logged in with has expired (OAuth):
        # Exchange Online ends a session then, so the channel logs in again before.
        self.valid_until = valid_until

    @classmethod
    def open(cls, target: ImapTarget, secret: str | TokenSource, *, timeout: float) -> ImapSession:
        """Connected, over TLS unless to loopback, and logged in with the password or an
        OAuth access token (XOAUTH2); MailboxRefused or OSError (imaplib.IMAP4.abort
        included) otherwise."""
        context = ssl.create_default_context()
        if target.scheme == "imaps":
            connection: imaplib.IMAP4 = _Tls(target.host, target.port, ssl_context=context, timeout=timeout)
        else:
            connection = _Plain(target.host, target.port, timeout=timeout)
            if "STARTTLS" in connection.capabilities:
                connection.starttls(context)
            elif not target.loopback:
                connection.shutdown()
                raise MailboxRefused(
                    f"{target.host} offers no STARTTLS, and the password would cross the network in plain "
                    "text: use imaps://, or a server that offers STARTTLS")
        try:
            valid_until = _log_in(connection, target, secret)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as error:
            connection.shutdown()
            raise MailboxRefused(f"{target.host} refused the login as {target.user}: {error}") from None
        except BaseException:
            connection.shutdown()
            raise
        connection._get_capabilities()  # type: ignore[attr-defined] # a server names more once logged in (MOVE)
        return cls(connection, target, valid_until=valid_until)

    def capable(self, name: str) -> bool:
        return name in self.connection.capabilities

    def _ok(self, what: str, response: tuple[str, list[object]]) -> list[object]:
        status, data = response
        if status != "OK":
            raise MailboxRefused(f"{what}: {status} {_text(data)}")
        return data

    def ensure_mailbox(self, name: str) -> None:
        """`name` exists (created if missing)."""
        status, data = self.connection.list('""', quoted(name))
        if status == "OK" and any(d for d in data if d):
            return
        self._ok(f"creating the mailbox {name!r}", self.connection.create(quoted(name)))

    def select(self) -> int:
        """The target mailbox, selected for reading and moving: the number of messages in it."""
        data = self._ok(f"opening the mailbox {self.target.mailbox!r}",
                        self.connection.select(quoted(self.target.mailbox)))
        return int(data[0] or 0)  # type: ignore[call-overload]

    def count(self) -> int:
        """Messages in the target mailbox, read without selecting it (`cib check`)."""
        data = self._ok(f"reading the mailbox {self.target.mailbox!r}",
                        self.connection.status(quoted(self.target.mailbox), "(MESSAGES)"))
        found = re.search(r"MESSAGES (\d+)", _text(data))
        return int(found.group(1)) if found else 0

    def waiting(self) -> list[str]:
        """UIDs of the messages waiting, oldest first (NOOP first: the server tells of new
        mail in answer to a command)."""
        self._ok("NOOP", self.connection.noop())
        data = self._ok("searching the mailbox", self.connection.uid("SEARCH", "UNDELETED"))
        return _text(data).split()

    def fetch(self, uid: str) -> bytes | None:
        """The whole message, without marking it \\Seen; None if it is gone."""
        data = self._ok(f"fetching message {uid}", self.connection.uid("FETCH", uid, "(BODY.PEEK[])"))
        for part in data:
            if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
                return part[1]
        return None

    def move(self, uid: str, mailbox: str, *, use_move: bool = True) -> None:
        """To `mailbox`: MOVE (RFC 6851) where the server has it, else COPY, \\Deleted and
        EXPUNGE (only this message's where UIDPLUS allows it)."""
        if use_move and self.capable("MOVE"):
            self._ok(f"moving message {uid} to {mailbox!r}", self.connection.uid("MOVE", uid, quoted(mailbox)))
            return
        self._ok(f"copying message {uid} to {mailbox!r}", self.connection.uid("COPY", uid, quoted(mailbox)))
        self._ok(f"marking message {uid} deleted", self.connection.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"))
        if self.capable("UIDPLUS"):
            self._ok(f"expunging message {uid}", self.connection.uid("EXPUNGE", uid))
        else:
            self._ok("expunging", self.connection.expunge())

    def idle(self, seconds: float, interrupted: threading.Event) -> bool:
        """IDLE (RFC 2177) until the server tells of new mail, `seconds` pass or
        `interrupted` is set, then DONE: whether new mail was told of."""
        connection = self.connection
        tag = connection._new_tag()  # type: ignore[attr-defined]
        connection.send(tag + b" IDLE\r\n")
        told = self._until_continuation(tag)
        deadline = time.monotonic() + seconds
        try:
            while not told and not interrupted.is_set() and (left := deadline - time.monotonic()) > 0:
                told = _new_mail(self._listen(min(LISTEN, left)))
        finally:
            connection.sock.settimeout(connection.command_timeout)  # type: ignore[attr-defined]
        connection.send(b"DONE\r\n")
        self._until_tagged(tag, "IDLE")
        return told

    def _listen(self, seconds: float) -> bytes | None:
        """One line the server sent within `seconds`, or None."""
        self.connection.sock.settimeout(seconds)
        try:
            line = self.connection.readline()
        except TimeoutError:
            return None
        if not line:
            raise imaplib.IMAP4.abort("the server closed the connection")
        if line.startswith(b"* BYE"):
            raise imaplib.IMAP4.abort(f"the server said {line.decode('utf-8', 'replace').strip()}")
        return line

    def _until_continuation(self, tag: bytes) -> bool:
        """Lines up to IDLE's "+": whether new mail was told of on the way."""
        told = False
        while not (line := self._line()).startswith(b"+"):
            if line.startswith(tag):
                self.connection.tagged_commands.pop(tag, None)
                raise MailboxRefused(f"IDLE: {line.decode('utf-8', 'replace').strip()}")
            told = told or _new_mail(line)
        return told

    def _until_tagged(self, tag: bytes, what: str) -> None:
        while not (line := self._line()).startswith(tag + b" "):
            pass
        self.connection.tagged_commands.pop(tag, None)
        if not line[len(tag) + 1:].startswith(b"OK"):
            raise MailboxRefused(f"{what}: {line.decode('utf-8', 'replace').strip()}")

    def _line(self) -> bytes:
        line = self.connection.readline()
        if not line:
            raise imaplib.IMAP4.abort("the server closed the connection")
        return line

    def close(self) -> None:
        try:
            self.connection.logout()
        except Exception:  # noqa: BLE001 - the connection is going anyway
            try:
                self.connection.shutdown()
            except Exception:  # noqa: BLE001, S110 - nothing left to close
                pass
