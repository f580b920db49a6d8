"""Helpers for tests that talk to the service over real SMTP."""
from __future__ import annotations

import smtplib
import textwrap
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, make_msgid

import aiosmtplib

from intake.runtime.composition import Runtime


def message(
    body: str,
    *,
    sender: str = "jane.smith@camden.gov.uk",
    subject: str = "Expression of interest",
    to: str = "eoi@cib.test",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = message_id or make_msgid(domain=sender.rpartition("@")[2] or "example.org")
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(textwrap.dedent(body).strip() + "\n")
    return bytes(mail)


# The tests' intake sits behind a mail server that checks senders (CIB_AUTHSERV_ID, set by
# the settings fixture), as a deployment would: `stamp` adds what that server writes.
BORDER = "mx.cib.test"


def stamp(raw: bytes, result: str = "pass", *, by: str = BORDER) -> bytes:
    """`raw` as the border server passes it on: its Authentication-Results on top, with
    DMARC `result` for the From domain (the domain read the way the intake reads it)."""
    domain = _from_domain(raw)
    header = f"Authentication-Results: {by}; dmarc={result} header.from={domain or 'unknown'}\r\n"
    return header.encode() + raw


def _from_domain(raw: bytes) -> str | None:
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    addresses = getaddresses([str(value) for value in headers.get_all("From") or []])
    if not addresses:
        return None
    return addresses[0][1].rpartition("@")[2].lower() or None


async def send(
    runtime: Runtime,
    raw: bytes,
    *,
    mail_from: str = "jane.smith@camden.gov.uk",
    to: str = "eoi@cib.test",
    authenticated: bool = True,
) -> tuple[int, str]:
    """Send over SMTP, as passed on by the border server (the sender proven) unless
    `authenticated` is False; returns the DATA reply (code, text)."""
    if authenticated:
        raw = stamp(raw)
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=runtime.smtp_port, timeout=10)
    await client.connect()
    try:
        await client.mail(mail_from)
        await client.rcpt(to)
        try:
            response = await client.data(raw)
        except aiosmtplib.SMTPResponseException as error:
            return error.code, error.message
        return response.code, response.message
    finally:
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            pass


async def settle(runtime: Runtime) -> None:
    """Wait until everything kept is processed and every reply due is handed to the relay."""
    await runtime.queue.drain()
    await runtime.delivery.flush()


def smtp_error(runtime: Runtime, raw: bytes, *, mail_from: str, to: str) -> smtplib.SMTPException | None:
    try:
        with smtplib.SMTP("127.0.0.1", runtime.smtp_port, timeout=10) as client:
            client.sendmail(mail_from, [to], raw)
    except smtplib.SMTPException as error:
        return error
    return None


def body_text(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return part.get_content()
