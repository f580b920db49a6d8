"""`cib personal-data`: a person's request about their data, by their address (`find`,
`export`, `erase`), and the retention periods applied by hand (`retention`), through the
same code as the workspace and the scheduler."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from intake.cli.common import (
    actor_name,
    app,
    console,
    errors,
    escaped,
    moment_of,
    new_table,
    run_with_database,
)

if TYPE_CHECKING:
    from intake.runtime.composition import Runtime

personal_app = typer.Typer(
    help="Personal data: what is held about an address, a copy of it, its erasure; the retention periods.",
    no_args_is_help=True, rich_markup_mode=None,
)
app.add_typer(personal_app, name="personal-data")
ACTOR = typer.Option(None, "--as", help="Who is acting (for the audit trail).")


def _address(text: str) -> str:
    from intake.team.personal_desk import address_of

    address = address_of(text)
    if address is None:
        errors.print(f"[red]{escaped(repr(text))} is not an email address.[/red]")
        raise typer.Exit(2)
    return address


@personal_app.command()
def find(address: str) -> None:
    """Everything held about ADDRESS, and the names tied to it: entries, messages, replies
    sent, audit entries, confirmations, sign-in records, Slack identities."""
    address = _address(address)

    async def work(rt: Runtime) -> Any:
        return await rt.personal.find(address)

    held = run_with_database(work)
    if held.empty:
        console.print(f"Nothing is held about {escaped(address)}.")
        return
    console.print(f"Held about {escaped(address)}", highlight=False)
    for label, values in (("names", held.names), ("phone numbers", held.phones), ("Slack identities", held.slack_users)):
        console.print(f"  {label}: {escaped(', '.join(values) or '-')}", highlight=False)
    sections = (
        ("Entries", held.entries, ("reference", "kind", "what", "council", "as", "status", "erased")),
        ("Messages", held.messages, ("id", "channel", "received_at", "subject", "from_them", "kind")),
        ("Replies sent", held.replies, ("id", "kind", "channel", "to", "status", "created_at")),
        ("Audit entries", held.audit, ("id", "at", "actor", "action", "reference")),
        ("Confirmations", held.confirmations, ("id", "reference", "status", "as", "created_at")),
        ("Incomplete drafts", held.drafts, ("id", "offer", "status", "created_at")),
        ("Questions", held.enquiries, ("id", "channel", "received_at", "answered")),
        ("Sign-in records", held.sign_in, ("kind", "created_at", "expires_at")),
        ("Unreachable notes", held.unreachable, ("noted_at", "noted_by")),
    )
    for title, rows, columns in sections:
        if rows:
            table = new_table(*columns, title=f"{title} ({len(rows)})")
            for row in rows:
                table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
            console.print(table)


@personal_app.command()
def export(
    address: str,
    out: Path = typer.Option(..., "--out", help="The ZIP file to write."),
    actor: str | None = ACTOR,
) -> None:
    """A subject-access export of ADDRESS: summary.json (what is held, where, since when,
    why, until when) and the messages they sent, as they came, with their attachments."""
    address = _address(address)

    async def work(rt: Runtime) -> Any:
        return await rt.personal.export(address, actor=actor_name(actor))

    held, content = run_with_database(work)
    out.write_bytes(content)
    counts = ", ".join(f"{n} {what}" for what, n in held.counts().items() if n) or "nothing is held"
    console.print(f"Wrote {escaped(str(out))} ({counts}).", highlight=False)


@personal_app.command()
def erase(
    address: str,
    reason: str = typer.Option(..., "--reason", help="Why (the audit trail records it, without the address)."),
    yes: bool = typer.Option(False, "--yes", help="Erase: there is no undoing it."),
    actor: str | None = ACTOR,
) -> None:
    """Remove or anonymise every trace of ADDRESS and its names: messages, replies, audit
    details, the local outbox folder. Entries stay counted, their people marked erased."""
    address = _address(address)
    if not reason.strip():
        errors.print("[red]Give the reason with --reason: the audit trail records it.[/red]")
        raise typer.Exit(2)
    if not yes:
        errors.print(f"Nothing was erased. `cib personal-data find {escaped(address)}` shows what would be; "
                     "add --yes to erase it (there is no undoing it).", highlight=False)
        raise typer.Exit(2)

    async def work(rt: Runtime) -> Any:
        return await rt.personal.erase(address, actor=actor_name(actor), reason=reason)

    erased = run_with_database(work)
    console.print(f"[green]{escaped(erased.message)}[/green]", highlight=False)
    if erased.counts:
        table = new_table("rows", "how many", title="Changed in the database")
        for what, n in sorted(erased.counts.items()):
            table.add_row(what, str(n))
        console.print(table)
    _tell_settled(erased)


def _tell_settled(erased: Any) -> None:
    settled, outbox = erased.settled, erased.outbox
    if outbox is not None:
        console.print(f"Outbox folder: {outbox.removed} message(s) removed, {outbox.rewritten} rewritten.")
    if settled is None:
        return
    if settled.searched and not settled.lingering:
        done = "rebuilt (VACUUM) and " if settled.vacuumed else ""
        console.print(f"The database file was {done}searched: nothing erased is left in it.")
    elif settled.lingering:
        errors.print(f"[yellow]The database file still holds: {', '.join(settled.lingering)} (another process "
                     "may hold the WAL open: run the command again once it is stopped).[/yellow]")
    elif settled.vacuumed:
        console.print("PostgreSQL: VACUUM ran on the tables changed; their old versions stay in the database's "
                      "free space, WAL and backups until overwritten or expired (see README, Personal data).")


@personal_app.command()
def retention(
    as_of: str | None = typer.Option(None, "--as-of",
                                     help="Run as if it were this moment (ISO; local time if no offset)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed; remove nothing."),
) -> None:
    """Apply the retention periods of campaign.toml's [retention] (the scheduler does it
    daily): raw messages, then entries' personal fields, then spent sign-in records."""
    from intake.jobs.retention_job import apply_retention

    async def work(rt: Runtime) -> Any:
        return await apply_retention(rt.jobs, now=moment_of(rt, as_of), dry_run=dry_run)

    report = run_with_database(work)
    when = report.now.isoformat(timespec="minutes")
    if not report.listing and not (report.outbox and report.outbox.removed):
        console.print(f"Nothing is due for removal as of {when}.")
        return
    verb = "Would remove" if dry_run else "Removed"
    table = new_table("what", "how many", "which", title=f"{verb} as of {when}")
    for what, n, which in report.listing:
        table.add_row(what, str(n), which)
    if report.outbox is not None and report.outbox.removed:
        table.add_row("copies in the outbox folder", str(report.outbox.removed), "")
    console.print(table)
    if dry_run:
        console.print("Dry run: nothing was removed.")
