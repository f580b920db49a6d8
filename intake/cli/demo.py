"""`cib demo`: the whole service on free local ports with a temporary database, fed a
handful of realistic emails over real SMTP, with a local relay catching the replies.
`cib demo --keep` keeps the database, and says how to look at it in the team's workspace."""
from __future__ import annotations

import asyncio
import json
import shlex
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from intake.runtime.composition import create_service
from intake.runtime.settings import Settings

INTAKE = "eoi@cib.localhost"
TEAM = "team@cib.localhost"  # the team address the kept demo is signed in with
KEPT = Path("cib-demo.sqlite3")
# Marks a database `cib demo --keep` made (SQLite's application_id, "CIBD"): another run
# may replace it; any other file at that path is never touched.
DEMO_ID = 0x43494244
# The demo's intake sits behind a mail server that checked each sender (CIB_AUTHSERV_ID),
# which says so in the header it adds; see docs/trust.md.
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


class NotADemo(Exception):
    """`--keep` would replace a file that is not a demo's database."""


def is_demo_database(path: Path) -> bool:
    """A SQLite file carrying the demo's mark (read only: nothing else is touched)."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        return connection.execute("PRAGMA application_id").fetchone()[0] == DEMO_ID
    except sqlite3.Error:  # not SQLite at all
        return False
    finally:
        connection.close()


def clear_for_demo(path: Path) -> None:
    """Make room for a kept demo: nothing there, or an earlier demo's database (removed)."""
    if path.exists() and not is_demo_database(path):
        raise NotADemo(f"{path} exists and is not a database `cib demo` made: nothing was changed. "
                       "Choose another file with --database.")
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)


def new_demo_database(path: Path) -> None:
    """An empty SQLite database marked as the demo's, before the service makes its tables:
    a run that fails halfway leaves a file the next run may replace."""
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"PRAGMA application_id = {DEMO_ID}")
        connection.commit()
    finally:
        connection.close()


@asynccontextmanager
async def _database(keep: Path | None) -> AsyncIterator[Path]:
    """The demo's database file: at `keep`, or in a folder removed afterwards."""
    if keep is not None:
        clear_for_demo(keep)
        new_demo_database(keep)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="cib-demo-") as tmp:
        yield Path(tmp) / "demo.sqlite3"


def how_to_look(database: Path, outbox: Path, *, web: str = "http://127.0.0.1:3000") -> str:
    """What to type to see the kept demo in the team's workspace. With no relay set, the
    sign-in link is emailed to the local Maildir, so the last step reads it from there."""
    serve = (f"CIB_DATABASE_URL={shlex.quote(f'sqlite:///{database}')} CIB_TEAM_EMAILS={TEAM} "
             f"CIB_OUTBOX_DIR={shlex.quote(str(outbox))} cib serve --no-scheduler")
    link = (
        "import email, email.policy, pathlib, re; "
        f"newest = max(pathlib.Path({json.dumps(str(outbox / 'new'))}).iterdir(), key=lambda p: p.stat().st_mtime); "
        "mail = email.message_from_bytes(newest.read_bytes(), policy=email.policy.default); "
        r'print(re.search(r"\S+/team/sign-in/\S+", mail.get_body(("plain",)).get_content()).group())'
    )
    return "\n".join([
        f"The demo's data is kept in {database}. To look at it in the CIB team's workspace:",
        "",
        "1. Start the service on it:",
        f"     {serve}",
        f"2. Open {web}/team/ and ask for a sign-in link for {TEAM}.",
        f"3. With no mail relay set, the email with the link goes to the Maildir {outbox} (the newest",
        "   message in its new/ folder; any mail client opens it). Print the link with:",
        f"     python3 -c {shlex.quote(link)}",
        '   and open it: "Sign in" takes you to the overview. The link works once, for 15 minutes.',
    ])


async def run_demo(console: Console, *, keep: Path | None = None) -> None:
    """The demo; `keep`: the database stays at this path (replacing only an earlier demo's)."""
    keep = keep.resolve() if keep is not None else None
    loop = asyncio.get_running_loop()
    catcher = _Catcher()
    relay = await loop.create_server(lambda: SMTP(catcher), host="127.0.0.1", port=0)
    async with _database(keep) as database:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{database}",
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
        console.print(f"Service listening for {INTAKE} on 127.0.0.1:{runtime.smtp_port} (database {database})",
                      markup=False, highlight=False)
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
    if keep is not None:
        # Where `cib serve` will listen with these settings; unwrapped: the commands are copied as they are.
        web = settings.web_url or f"http://{settings.http_host}:{settings.http_port}"
        said = how_to_look(keep, settings.outbox_dir.resolve(), web=web.rstrip("/"))
        console.print(said, soft_wrap=True, markup=False, highlight=False)
