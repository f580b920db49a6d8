"""One logged-in IMAP connection (the standard library's imaplib, blocking): the few
commands the mailbox channel needs. Called from one worker thread at a time
(intake/mail/mailbox.py); nothing here decides anything.
"""
from __future__ import annotations

import imaplib
import re
import ssl

from intake.mail.imap_url import ImapTarget


class MailboxRefused(Exception):
    """The server (or our rule about plain text) refused us for a reason trying again
    will not change: a wrong password, no such mailbox, no TLS to a remote server."""


def quoted(name: str) -> str:
    """A mailbox name as an IMAP quoted string (names may hold spaces)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: list[object]) -> str:
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data if d)


class ImapSession:
    def __init__(self, connection: imaplib.IMAP4, target: ImapTarget) -> None:
        self.connection = connection
        self.target = target

    @classmethod
    def open(cls, target: ImapTarget, password: str, *, timeout: float) -> ImapSession:
        """Connected, over TLS unless to loopback, and logged in; MailboxRefused or OSError
        (imaplib.IMAP4.abort included) otherwise."""
        context = ssl.create_default_context()
        if target.scheme == "imaps":
            connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                target.host, target.port, ssl_context=context, timeout=timeout)
        else:
            connection = imaplib.IMAP4(target.host, target.port, timeout=timeout)
            if "STARTTLS" in connection.capabilities:
                connection.starttls(context)
            elif not target.loopback:
                connection.shutdown()
                raise MailboxRefused(
                    f"{target.host} offers no STARTTLS, and the password would cross the network in plain "
                    "text: use imaps://, or a server that offers STARTTLS")
        try:
            connection.login(target.user, password)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as error:
            connection.shutdown()
            raise MailboxRefused(f"{target.host} refused the login as {target.user}: {error}") from None
        return cls(connection, target)

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

    def close(self) -> None:
        try:
            self.connection.logout()
        except Exception:  # noqa: BLE001 - the connection is going anyway
            try:
                self.connection.shutdown()
            except Exception:  # noqa: BLE001, S110 - nothing left to close
                pass
