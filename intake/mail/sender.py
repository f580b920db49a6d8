"""Outbound email: the email channel's carrier for the outbox dispatcher
(`intake/outbox/dispatch.py`), handing each recorded message to an SMTP relay
(aiosmtplib) or, with no relay set, to a local Maildir outbox.

The relay's 5xx for the message or for a recipient is a refusal for good (`Refused`):
the send fails at once and the team sees it. A 4xx, a timeout or a lost connection is
tried again later; so is a 5xx about our own set-up (authentication, TLS, our envelope
sender), which every message would meet until the settings are put right."""
from __future__ import annotations

import asyncio
import mailbox
from collections.abc import Awaitable, Callable
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol

import aiosmtplib

from intake.models import OutboundMessage
from intake.outbox.send_errors import Refused

Confirm = Callable[[], Awaitable[None]]
# 5xx replies about our set-up, not the message: authentication required, too weak or
# failed, encryption required (RFC 4954).
SET_UP = frozenset({530, 534, 535, 538})


class Transport(Protocol):
    async def send(
        self, message: bytes, *, sender: str, recipients: list[str], confirm: Confirm | None = None
    ) -> None:
        """Hand the message over; `confirm()` is awaited at the last moment before it
        leaves (and may raise to stop it)."""
        ...

    def describe(self) -> str: ...


def _refusal(error: aiosmtplib.SMTPException) -> Refused | None:
    """The relay's answer as a refusal for good, or None if it is worth trying again."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refused = error.recipients
        if refused and all(r.code >= 500 and r.code not in SET_UP for r in refused):
            return Refused("; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refused))
        return None
    if isinstance(error, aiosmtplib.SMTPSenderRefused):
        return None  # our own envelope sender: a setting, not this message
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code >= 500 and error.code not in SET_UP:
        return Refused(f"{error.code} {error.message}")
    return None


def _partly_refused(errors: dict[str, aiosmtplib.SMTPResponse], recipients: list[str]) -> Refused | None:
    """Some recipients refused while others took the message: sending it again would
    repeat it to those, so it ends here, shown to the team with who did not get it."""
    if not errors:
        return None
    took = [r for r in recipients if r not in errors]
    refused = "; ".join(f"{r}: {response.code} {response.message}" for r, response in errors.items())
    return Refused(f"refused for {refused} (sent to {', '.join(took)})")


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

    async def send(
        self, message: bytes, *, sender: str, recipients: list[str], confirm: Confirm | None = None
    ) -> None:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout,
        )
        # The client object, not aiosmtplib.send(): it accepts the null reverse-path "".
        try:
            async with client:
                if confirm is not None:  # connected: the last moment before the message leaves
                    await confirm()
                errors, _ = await client.sendmail(sender, recipients, message)
        except aiosmtplib.SMTPException as error:
            refusal = _refusal(error)
            if refusal is None:
                raise
            raise refusal from error
        if refused := _partly_refused(errors, recipients):
            raise refused

    def describe(self) -> str:
        return f"relay {self.host}:{self.port}"


class MaildirTransport:
    """A local Maildir: what would have been sent, readable with any mail client."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(
        self, message: bytes, *, sender: str, recipients: list[str], confirm: Confirm | None = None
    ) -> None:
        if confirm is not None:
            await confirm()
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


class EmailCarrier:
    """An outbound row to an SMTP envelope: replies with a null reverse-path (RFC 3834
    §3.3: nothing bounces back into a loop), everything else from our own address."""

    def __init__(self, transport: Transport, *, envelope_sender: str) -> None:
        self.transport = transport
        self.envelope_sender = envelope_sender

    async def send(self, row: OutboundMessage) -> None:
        await self.send_fenced(row, confirm=None)

    async def send_fenced(self, row: OutboundMessage, *, confirm: Confirm | None) -> None:
        """As `send`, with `confirm()` awaited once the relay is connected, just before
        the message goes (see `Carrier` in `intake/outbox/dispatch.py`)."""
        sender = "" if row.kind.startswith("reply-") else self.envelope_sender
        await self.transport.send(row.body, sender=sender, recipients=recipients_of(row.body) or [row.recipient],
                                  confirm=confirm)

    def describe(self) -> str:
        return self.transport.describe()
