"""Outbound email: the email channel's carrier for the outbox dispatcher
(`intake/outbox/dispatch.py`), handing each recorded message to an SMTP relay
(aiosmtplib) or, with no relay set, to a local Maildir outbox."""
from __future__ import annotations

import asyncio
import mailbox
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol

import aiosmtplib

from intake.models import OutboundMessage


class Transport(Protocol):
    async def send(self, message: bytes, *, sender: str, recipients: list[str]) -> None: ...

    def describe(self) -> str: ...


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


class EmailCarrier:
    """An outbound row to an SMTP envelope: replies with a null reverse-path (RFC 3834
    §3.3: nothing bounces back into a loop), everything else from our own address."""

    def __init__(self, transport: Transport, *, envelope_sender: str) -> None:
        self.transport = transport
        self.envelope_sender = envelope_sender

    async def send(self, row: OutboundMessage) -> None:
        sender = "" if row.kind.startswith("reply-") else self.envelope_sender
        await self.transport.send(row.body, sender=sender, recipients=recipients_of(row.body) or [row.recipient])

    def describe(self) -> str:
        return self.transport.describe()
