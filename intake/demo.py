"""`cib demo`: the whole service on free local ports with a temporary database, fed a
handful of realistic emails over real SMTP, with a local relay catching the replies."""
from __future__ import annotations

import asyncio
import tempfile
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from intake.app import create_service
from intake.settings import Settings

INTAKE = "eoi@cib.localhost"
# The demo's intake sits behind a mail server that checked each sender (CIB_AUTHSERV_ID),
# which says so in the header it adds; see "Who is trusted with what" in the README.
BORDER = "mx.cib.localhost"

EMAILS: list[tuple[str, str, str]] = [
    (
        "jane.smith@camden.gov.uk",
        "EOI - Payment by Results pathfinder",
        "Dear CIB team,\n\nPlease accept Camden's expression of interest.\n\n"
        "Council: London Borough of Camden\nContact name: Jane Smith\n"
        "Contact role: Head of Early Help\nNumber of children's centres: 12\n\nKind regards\nJane",
    ),
    (
        "sam.patel@hertfordshire.gov.uk",
        "Early adopter",
        "Council: Herts CC\nContact name: Sam Patel\nContact role: Assistant Director\n",
    ),
    (
        "ann.jones@hackney.gov.uk",
        "Regional leads - London",
        "Region: London\nLead member: Cllr Ann Jones, Hackney, ann.jones@hackney.gov.uk\n"
        "Lead DCS: Tom Brown, London Borough of Camden, tom.brown@camden.gov.uk\n",
    ),
    ("officer@leeds.gov.uk", "Deadline?", "When is the PbR deadline?"),
    (
        "officer@leeds.gov.uk",
        "Peer challenge",
        "We would like to talk to someone about how peer challenge would work for a small team.",
    ),
]


class _Catcher:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or b"", policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


async def run_demo(console: Console) -> None:
    loop = asyncio.get_running_loop()
    catcher = _Catcher()
    relay = await loop.create_server(lambda: SMTP(catcher), host="127.0.0.1", port=0)
    with tempfile.TemporaryDirectory(prefix="cib-demo-") as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'demo.sqlite3'}",
            smtp_port=0,
            relay_host="127.0.0.1",
            relay_port=relay.sockets[0].getsockname()[1],
            intake_addresses=[INTAKE],
            from_address=f"CIB intake <{INTAKE}>",
            scheduler_enabled=False,
            authserv_id=[BORDER],
        )
        runtime = create_service(settings)
        await runtime.start(slack=False, scheduler=False, http=False)
        console.print(f"Service listening for {INTAKE} on 127.0.0.1:{runtime.smtp_port} (database {tmp})")
        try:
            for sender, subject, body in EMAILS:
                mail = EmailMessage()
                domain = sender.rpartition("@")[2]
                mail["Authentication-Results"] = f"{BORDER}; dmarc=pass header.from={domain}"
                mail["From"], mail["To"], mail["Subject"] = sender, INTAKE, subject
                mail.set_content(body)
                response = await aiosmtplib.send(
                    mail, hostname="127.0.0.1", port=runtime.smtp_port, sender=sender, recipients=[INTAKE]
                )
                console.print(f"[cyan]{sender}[/cyan] -> {subject!r}: SMTP {response[1]}")
            await runtime.queue.drain()
            await runtime.delivery.flush()
            for reply in catcher.messages:
                body = reply.get_body(("plain",))
                console.print(
                    Panel(body.get_content().strip() if body else "", title=f"To {reply['To']}: {reply['Subject']}")
                )
            data = await runtime.service.export()
            table = Table("reference", "offer", "council", "contact", "verified", "sender", title="Submissions")
            for s in data["submissions"]:
                table.add_row(
                    s["reference"], s["offer"], s["council"], s["contact_name"], str(s["verified"]),
                    s["sender_authentication"],
                )
            console.print(table)
            leads = Table("region", "role", "name", "council", title="Nominations")
            for n in data["nominations"]:
                leads.add_row(n["region"], n["role"], n["name"], n["council"])
            console.print(leads)
            console.print(f"Enquiries: {len(data['enquiries'])}")
        finally:
            await runtime.stop()
            relay.close()
            await relay.wait_closed()
