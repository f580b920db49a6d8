"""`cib`: the operator's commands. Each builds the service with `create_service` and
calls the same code the running service uses."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from intake.app import Runtime, create_service
from intake.councils import ConfigError
from intake.settings import Settings

app = typer.Typer(help="CIB intake: expressions of interest, nominations and questions for the CIB.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.")
app.add_typer(db_app, name="db")
console = Console()
# Errors go to stderr unwrapped, so a long path or key stays on one line.
errors = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def _runtime(**overrides: Any) -> Runtime:
    try:
        return create_service(Settings(**overrides) if overrides else Settings())
    except ConfigError as error:
        errors.print(f"[red]Configuration error[/red]\n{error}", markup=True, highlight=False)
        raise typer.Exit(2) from error


def _run(work: Callable[[Runtime], Awaitable[T]], runtime: Runtime | None = None) -> T:
    runtime = runtime or _runtime()

    async def main() -> T:
        try:
            return await work(runtime)
        finally:
            await runtime.store.close()

    return asyncio.run(main())


@app.command()
def serve(
    no_slack: bool = typer.Option(False, "--no-slack", help="Do not start the Slack bot."),
    no_scheduler: bool = typer.Option(False, "--no-scheduler", help="Do not send reminders or digests."),
) -> None:
    """Run the service: SMTP intake, outbound mail, the Slack bot and the scheduler."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiosmtpd logs every SMTP command at INFO: a line per command is noise (and, in a
    # burst, real work); its warnings and errors still show.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    runtime = _runtime()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start(slack=not no_slack, scheduler=not no_scheduler)
        console.print(
            f"CIB intake is running: mail to {', '.join(runtime.settings.intake_addresses)} "
            f"at {runtime.settings.smtp_host}:{runtime.smtp_port}; replies go to "
            f"{runtime.delivery.transport.describe()}. Ctrl-C stops it."
        )
        await stop.wait()
        await runtime.stop()

    asyncio.run(main())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from intake.db import upgrade

    runtime = _runtime()
    _run(lambda rt: upgrade(rt.store), runtime)
    console.print(f"Database is up to date: {runtime.settings.database_url}")


class ExportFormat(str, Enum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


@app.command()
def export(
    format: ExportFormat = typer.Option(ExportFormat.json, "--format", "-f"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
) -> None:
    """Export submissions, nominations and enquiries."""
    from intake import export as exporting
    from intake.db import upgrade

    async def work(rt: Runtime) -> dict[str, Any]:
        await upgrade(rt.store)
        return await rt.service.export()

    data = _run(work)
    if format is ExportFormat.xlsx:
        payload: bytes | str = exporting.to_xlsx(data)
    elif format is ExportFormat.csv:
        payload = exporting.to_csv(data)
    else:
        payload = exporting.to_json(data) + "\n"
    if output:
        output.write_bytes(payload if isinstance(payload, bytes) else payload.encode())
        console.print(f"Wrote {output}")
    elif isinstance(payload, bytes):
        console.print("[red]XLSX needs --output PATH[/red]")
        raise typer.Exit(2)
    else:
        sys.stdout.write(payload)


@app.command()
def replay(
    ids: list[int] = typer.Argument(None, help="Inbound message ids (default: all)."),
    send: bool = typer.Option(True, help="Send any replies that result."),
) -> None:
    """Process stored inbound messages again (after a parser fix). Idempotent."""
    from intake.db import upgrade

    async def work(rt: Runtime) -> None:
        await upgrade(rt.store)
        outcomes = await rt.service.replay(ids or None)
        if send:
            await rt.deliver_now()
        table = Table("inbound", "classification")
        for outcome in outcomes:
            table.add_row(str(outcome.inbound_id), outcome.classification)
        console.print(table)

    _run(work)


@app.command()
def demo() -> None:
    """Start the service on free ports with a temporary database, send realistic emails
    through real SMTP, and show what was stored and replied."""
    from intake.demo import run_demo

    asyncio.run(run_demo(console))


def main() -> None:  # pragma: no cover - console entry point
    app()


# --- reminders, digest, schedule, Appendix A ---------------------------------------------


def _as_of(runtime: Runtime, value: str | None) -> Any:
    from datetime import datetime

    if not value:
        return runtime.clock()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        console.print(f"[red]--as-of {value!r} is not an ISO date and time, e.g. 2027-05-21T09:00[/red]")
        raise typer.Exit(2) from error
    # A bare local time means the campaign's time zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=runtime.campaign.tz)


def _report_table(report: Any, *, title: str) -> Table:
    table = Table("state", "channel", "to", "about", "subject", title=title)
    for planned in report.planned:
        table.add_row(planned.state, planned.channel, planned.recipient, planned.about, planned.subject)
    return table


@app.command()
def remind(
    as_of: str | None = typer.Option(None, "--as-of", help="Run as if it were this moment (ISO; local time if no offset)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show who would get what; send nothing."),
) -> None:
    """Send the reminders due now (or --as-of): the scheduler's own job, run by hand."""
    from intake.db import upgrade
    from intake.jobs import send_due_reminders

    runtime = _runtime()

    async def work(rt: Runtime) -> None:
        await upgrade(rt.store)
        now = _as_of(rt, as_of)
        report = await send_due_reminders(rt.jobs, now=now, dry_run=dry_run, catch_up=True)
        when = rt.service.when(now)
        if not report.due:
            console.print(f"No reminders are due at {when}. `cib schedule` lists the coming ones.")
        else:
            console.print(_report_table(report, title=f"Reminders due at {when}: {', '.join(report.due)}"))
        for slot in report.skipped:
            console.print(f"[yellow]Skipped {slot}: missed by more than the grace period.[/yellow]")
        if report.unreachable:
            names = sorted({c.short_name if (c := rt.councils.get(code)) else code for code in report.unreachable})
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            console.print(f"[yellow]No address known for {len(names)}: {shown}[/yellow] (add them to contacts.csv)")
        if dry_run:
            console.print(f"Dry run: {sum(p.state == 'would send' for p in report.planned)} message(s) would be sent; nothing recorded.")
            return
        emails, posts = await rt.deliver_now()
        console.print(f"Recorded {report.recorded} reminder(s); sent {emails} email(s) and {posts} Slack post(s) now.")

    _run(work, runtime)


@app.command()
def digest(
    as_of: str | None = typer.Option(None, "--as-of", help="Run as if it were this moment (ISO; local time if no offset)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the digest and who would get it; send nothing."),
    html: Path | None = typer.Option(None, "--html", help="Also write the HTML digest to this file."),
    now_: bool = typer.Option(False, "--now", help="Send one now, whatever the schedule."),
) -> None:
    """Send the CIB team's digest if one is due now (or --as-of), or --now on demand;
    --dry-run --html PATH to look at it."""
    from intake.db import upgrade
    from intake.jobs import send_digest

    runtime = _runtime()

    async def work(rt: Runtime) -> None:
        await upgrade(rt.store)
        now = _as_of(rt, as_of)
        report = await send_digest(rt.jobs, now=now, dry_run=dry_run, on_demand=now_)
        if html:
            html.write_text(report.html or "", encoding="utf-8")
            console.print(f"Wrote {html}")
        if dry_run:
            sys.stdout.write((report.text or "") + "\n")
        if not report.due:
            console.print(f"No digest is due at {rt.service.when(now)} (daily at {rt.campaign.digest.time:%H:%M}, "
                          f"within {rt.campaign.digest.grace_hours:g} hours). `cib schedule` lists the coming ones.")
            return
        console.print(_report_table(report, title=f"Digest due {report.due[0]}"))
        if not report.planned:
            console.print("Nobody to send it to: set CIB_TEAM_EMAILS and/or CIB_TEAM_SLACK_CHANNEL.")
        if dry_run:
            return
        emails, posts = await rt.deliver_now()
        console.print(f"Recorded {report.recorded} digest(s); sent {emails} email(s) and {posts} Slack post(s) now.")

    _run(work, runtime)


@app.command()
def schedule(
    as_of: str | None = typer.Option(None, "--as-of", help="List from this moment (ISO; local time if no offset)."),
    days: int = typer.Option(7, "--digests", help="How many coming digests to list."),
    all_slots: bool = typer.Option(False, "--all", help="Also list reminder times already past."),
) -> None:
    """List the coming reminder and digest times, and what has been recorded for each."""
    from intake import digest as digests
    from intake import reminders as plan
    from intake.db import upgrade

    runtime = _runtime()

    async def work(rt: Runtime) -> None:
        await upgrade(rt.store)
        now = _as_of(rt, as_of)
        titles = {t.key: t.short_title for t in rt.campaign.targets()}
        table = Table("when", "what", "before deadline", "recorded", title=f"Reminders (as of {rt.service.when(now)})")
        async with rt.store.reader() as unit:
            for slot in plan.upcoming_slots(rt.campaign, now, past=all_slots):
                counts = await unit.outbound.count_by_status(f"{plan.KIND}:{slot.key}:")
                recorded = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "-"
                offset = "deadline day" if slot.offset == 0 else f"{slot.offset} working days"
                table.add_row(rt.service.when(slot.at), ", ".join(titles[k] for k in slot.targets), offset, recorded)
            console.print(table)
            table = Table("when", "recorded", title="Digests")
            for moment in [m for m in [digests.due_digest(rt.campaign, now)] if m] + digests.upcoming_digests(rt.campaign, now, days):
                counts = await unit.outbound.count_by_status(f"{digests.KIND}:{moment.date().isoformat()}:")
                table.add_row(rt.service.when(moment), ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "-")
        console.print(table)
        console.print(f"Missed runs are caught up on start within {rt.campaign.reminders.grace_hours:g} hours (reminders) "
                      f"and {rt.campaign.digest.grace_hours:g} hours (digest).")

    _run(work, runtime)


# --- the team's actions on entries --------------------------------------------------------


def _act(work: Callable[[Runtime], Awaitable[Any]]) -> None:
    """Run one team action, then send the reply it recorded for the sender."""
    from intake.db import upgrade

    async def run(rt: Runtime) -> None:
        await upgrade(rt.store)
        done = await work(rt)
        if done.told:
            await rt.deliver_now()
        style = "green" if done.ok else "red"
        console.print(f"[{style}]{done.message}[/{style}]" + (" The sender has been told." if done.told else ""),
                      highlight=False)
        if not done.ok:
            raise typer.Exit(1)

    _run(run)


def _actor(actor: str | None) -> str:
    return actor or os.environ.get("USER") or "the CIB team"


@app.command()
def verify(
    reference: str,
    actor: str | None = typer.Option(None, "--as", help="Who is acting (for the audit trail)."),
) -> None:
    """Verify an entry: the team has checked it with the council. The sender is told."""
    _act(lambda rt: rt.team.verify(reference, actor=_actor(actor)))


@app.command()
def reject(
    reference: str,
    reason: str = typer.Option(..., "--reason", help="Why: the sender is told."),
    actor: str | None = typer.Option(None, "--as", help="Who is acting (for the audit trail)."),
) -> None:
    """Reject an entry (not genuine, or not one the programme can take). The sender is told why."""
    _act(lambda rt: rt.team.reject(reference, actor=_actor(actor), reason=reason))


class Decision(str, Enum):
    accept = "accept"
    decline = "decline"
    waitlist = "waitlist"


@app.command()
def decide(
    reference: str,
    decision: Decision,
    note: str = typer.Option("", "--note", help="A line for the council, in the reply."),
    actor: str | None = typer.Option(None, "--as", help="Who is acting (for the audit trail)."),
) -> None:
    """Accept, decline or waitlist an expression of interest. An offer's places cannot be
    over-filled: accepting one more than its capacity is refused. The council is told."""
    _act(lambda rt: rt.team.decide(reference, decision.value, actor=_actor(actor), note=note))


@app.command()
def audit(reference: str) -> None:
    """The audit trail of one entry: what happened to it, when, and who did it."""
    from intake.db import upgrade

    async def work(rt: Runtime) -> list[Any]:
        await upgrade(rt.store)
        return await rt.team.audit(reference)

    runtime = _runtime()
    entries = _run(work, runtime)
    if not entries:
        console.print(f"Nothing is recorded for {reference.upper()}.")
        raise typer.Exit(1)
    table = Table("when", "who", "what", "detail", title=f"Audit trail of {reference.upper()}")
    for entry in entries:
        detail = "; ".join(f"{k}: {v}" for k, v in (entry.detail or {}).items() if k != "fields" and v not in ("", None))
        table.add_row(runtime.service.when(entry.at), entry.actor or "", entry.action, detail)
    console.print(table)


class LeadsFormat(str, Enum):
    html = "html"
    csv = "csv"
    md = "md"


@app.command()
def leads(
    format: LeadsFormat = typer.Option(LeadsFormat.md, "--format", "-f"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
) -> None:
    """Appendix A: the regional leads (region, role, name, council)."""
    from intake import leads as appendix
    from intake.db import upgrade

    async def work(rt: Runtime) -> str:
        await upgrade(rt.store)
        return await appendix.render(rt.service, format.value, renderer=rt.renderer, now=rt.clock())

    payload = _run(work)
    if output:
        output.write_text(payload, encoding="utf-8")
        console.print(f"Wrote {output}")
    else:
        sys.stdout.write(payload)
