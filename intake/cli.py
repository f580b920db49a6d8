"""`cib`: the operator's commands. Each builds the service with `create_service` and
calls the same code the running service uses.

Only what `--help` needs is imported here; each command imports the rest (the service,
the database drivers, Slack) when it runs, so help and `--version` answer at once.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.table import Table

    from intake.app import Runtime

app = typer.Typer(
    help="CIB intake: expressions of interest, nominations and questions for the CIB.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: a docstring's wrapped lines are one paragraph, and it is quick
    # Errors are answered by `main` (short, no traceback unless --debug).
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.")
app.add_typer(db_app, name="db")
console = Console()
# Errors and progress go to stderr unwrapped, so a long path or key stays on one line
# and what a command writes to standard output stays clean.
errors = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")
_options = {"debug": False}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cib-intake")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        console.print(f"cib-intake {_version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error."),
) -> None:
    """CIB intake: expressions of interest, nominations and questions for the CIB."""
    _options["debug"] = debug


def _table(*columns: str, title: str | None = None) -> Table:
    from rich.table import Table

    class Plain(Table):
        def add_row(self, *cells: Any, **options: Any) -> None:
            # What people typed is text: never rich markup, never a control for the terminal.
            super().add_row(*(_plain(c) if isinstance(c, str) else c for c in cells), **options)

    return Plain(*columns, title=title)


def _escaped(text: str) -> str:
    """Text to put inside console markup: shown as typed."""
    from rich.markup import escape

    from intake.export import visible

    return escape(visible(text))


def _plain(text: str) -> Any:
    from rich.text import Text

    from intake.export import visible

    return Text(visible(text))


def _runtime(**overrides: Any) -> Runtime:
    from intake.app import create_service
    from intake.settings import Settings

    return create_service(Settings(**overrides) if overrides else Settings())


def _run(work: Callable[[Runtime], Awaitable[T]], runtime: Runtime | None = None, *, create: bool = False) -> T:
    """Open the database (`create`: make it if there is none; otherwise a command that
    finds none says so and makes nothing), do the work, close."""
    from intake.db import open_database

    runtime = runtime or _runtime()

    async def main() -> T:
        try:
            await open_database(runtime.store, runtime.settings.database_url, create=create)
            return await work(runtime)
        finally:
            await runtime.store.close()

    return asyncio.run(main())


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=errors, transient=True)


def _configure_logging(settings: Any) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
    # aiosmtpd logs every SMTP command at INFO, and APScheduler every job it runs: a line
    # per command or run is noise (about 5,800 a day); their warnings and errors still show.
    if settings.log_level.upper() != "DEBUG":
        for name in ("mail.log", "apscheduler", "slack_bolt", "slack_sdk"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _checked(settings: Any) -> list[Any]:
    from intake.app import template_filters
    from intake.checks import check_files

    return check_files(settings, filters=template_filters())


def _show_findings(findings: list[Any]) -> bool:
    from rich.text import Text

    table = _table("check", "", "detail")
    for finding in findings:
        table.add_row(finding.what, Text("ok", style="green") if finding.ok else Text("problem", style="red"),
                      finding.detail)
    (console if all(f.ok for f in findings) else errors).print(table)
    return all(f.ok for f in findings)


@app.command()
def serve(
    no_slack: bool = typer.Option(False, "--no-slack", help="Do not start the Slack bot."),
    no_scheduler: bool = typer.Option(False, "--no-scheduler", help="Do not send reminders or digests."),
) -> None:
    """Run the service: SMTP intake, outbound mail, the Slack bot and the scheduler.
    The checks of `cib check` run first; the service does not start if one fails."""
    from intake.checks import check_database
    from intake.db import open_database

    from intake.settings import Settings

    settings = Settings()
    _configure_logging(settings)
    findings = _checked(settings)
    if not all(f.ok for f in findings):
        _show_findings([f for f in findings if not f.ok])
        raise typer.Exit(2)
    runtime = _runtime()

    async def main() -> None:
        await open_database(runtime.store, runtime.settings.database_url, create=True)
        findings.extend(await check_database(runtime.store, runtime.campaign))
        if not all(f.ok for f in findings):
            _show_findings([f for f in findings if not f.ok])
            await runtime.store.close()
            raise typer.Exit(2)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start(slack=not no_slack, scheduler=not no_scheduler)
        console.print(
            f"CIB intake is running: mail to {', '.join(runtime.settings.intake_addresses)} "
            f"at {runtime.settings.smtp_host}:{runtime.smtp_port}; replies go to "
            f"{runtime.delivery.transport.describe()}; the team's workspace and /healthz at "
            f"http://{runtime.settings.http_host}:{runtime.http_port}/. Ctrl-C stops it."
        )
        await stop.wait()
        await runtime.stop()

    asyncio.run(main())


@app.command()
def check() -> None:
    """Check the settings, the campaign, the councils, the contacts and every template, and
    that the entries in the database are all for offers the campaign still has."""
    from intake.checks import Finding, check_database
    from intake.db import sqlite_file
    from intake.settings import Settings

    settings = Settings()
    findings = _checked(settings)
    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        findings.append(Finding("database", True, f"none yet at {path} (`cib serve` makes it)"))
    elif all(f.ok for f in findings):
        findings.extend(_run(lambda rt: check_database(rt.store, rt.campaign), _runtime()))
    else:
        findings.append(Finding("database", False, "not checked until the files above are right"))
    if not _show_findings(findings):
        raise typer.Exit(1)
    console.print("All checks passed.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from intake.db import shown_url

    async def nothing(rt: Runtime) -> None:
        return None

    runtime = _runtime()
    _run(nothing, runtime, create=True)
    console.print(f"Database is up to date: {shown_url(runtime.settings.database_url)}")


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

    if format is ExportFormat.xlsx and not output:
        errors.print("[red]XLSX needs --output PATH[/red]")
        raise typer.Exit(2)
    with _progress() as progress:
        step = progress.add_task("Exporting", total=3)
        data = _run(lambda rt: rt.service.export())
        progress.advance(step)
        if format is ExportFormat.xlsx:
            payload: bytes | str = exporting.to_xlsx(data)
        elif format is ExportFormat.csv:
            payload = exporting.to_csv(data)
        else:
            payload = exporting.to_json(data) + "\n"
        progress.advance(step)
        if output:
            output.write_bytes(payload if isinstance(payload, bytes) else payload.encode())
        progress.advance(step)
    if output:
        counts = ", ".join(f"{len(rows)} {name}" for name, rows in data.items())
        console.print(f"Wrote {output} ({counts})", highlight=False)
    else:
        sys.stdout.write(str(payload))


@app.command()
def replay(
    ids: list[int] = typer.Argument(None, help="Inbound message ids (default: all)."),
    send: bool = typer.Option(True, help="Send any replies that result."),
) -> None:
    """Process stored inbound messages again (after a parser fix), and say what changed.
    Idempotent: what is already right stays as it is, and no reply is sent twice."""
    from collections import Counter

    async def work(rt: Runtime) -> None:
        async with rt.store.reader() as unit:
            chosen = list(ids) if ids else await unit.inbound.ids()
            before = await unit.inbound.classifications(chosen)
            _, unsent_before, _ = await unit.operations.waiting()
        with _progress() as progress:
            task = progress.add_task("Replaying", total=len(chosen))
            outcomes = await rt.service.replay(chosen, each=lambda outcome: progress.advance(task))
        async with rt.store.reader() as unit:
            _, unsent_after, _ = await unit.operations.waiting()
        sent = await rt.deliver_now() if send else (0, 0)
        kinds = Counter(outcome.classification for outcome in outcomes)
        console.print(f"Replayed {len(outcomes)} message(s): "
                      + (", ".join(f"{n} {kind}" for kind, n in kinds.most_common()) or "none") + ".")
        changed = [(o.inbound_id, before.get(o.inbound_id), o.classification) for o in outcomes
                   if before.get(o.inbound_id) != o.classification]
        if changed:
            table = _table("inbound", "was", "now", title=f"{len(changed)} read differently")
            for inbound_id, was, now in changed:
                table.add_row(str(inbound_id), was or "(not yet processed)", now)
            console.print(table)
        else:
            console.print("Every message was read as before.")
        new = max(unsent_after - unsent_before, 0)
        if send:
            console.print(f"{new} new message(s) to send; sent {sent[0]} email(s) and {sent[1]} Slack post(s).")
        else:
            console.print(f"{new} new message(s) to send, left for the service (--no-send).")

    _run(work)


@app.command()
def demo(
    keep: bool = typer.Option(False, "--keep", help="Keep the database, and say how to look at it in the "
                                                    "team's workspace."),
    database: Path | None = typer.Option(None, "--database", help="Where --keep keeps it (default "
                                                                  "./cib-demo.sqlite3); implies --keep."),
) -> None:
    """Start the service on free ports with a temporary database, send realistic emails
    through real SMTP, and show what was stored and replied. With --keep the database
    stays (an earlier demo's is replaced; any other file is left alone)."""
    from intake.demo import KEPT, NotADemo, run_demo

    kept = database or (KEPT if keep else None)
    try:
        asyncio.run(run_demo(console, keep=kept))
    except NotADemo as refusal:
        errors.print(str(refusal), markup=False, highlight=False)
        raise typer.Exit(2) from None


def main() -> None:
    """The console entry point: known errors get a short answer on stderr (exit 2), any
    other a one-line one (exit 1); `--debug` shows the traceback."""
    try:
        app(prog_name="cib")
    except Exception as error:  # noqa: BLE001 - everything an operator sees is answered here
        if _options["debug"]:
            raise
        from intake.friendly import explain

        message = explain(error)
        if message is not None:
            errors.print(message, markup=False, highlight=False)
            sys.exit(2)
        errors.print(f"Error: {type(error).__name__}: {error}\n(run `cib --debug ...` for the traceback)",
                     markup=False, highlight=False)
        sys.exit(1)


# --- reminders, digest, schedule, Appendix A ---------------------------------------------


def _as_of(runtime: Runtime, value: str | None) -> Any:
    from datetime import datetime

    if not value:
        return runtime.clock()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        console.print(f"[red]--as-of {_escaped(repr(value))} is not an ISO date and time, "
                      "e.g. 2027-05-21T09:00[/red]")
        raise typer.Exit(2) from error
    # A bare local time means the campaign's time zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=runtime.campaign.tz)


def _report_table(report: Any, *, title: str) -> Table:
    table = _table("state", "channel", "to", "about", "subject", title=title)
    for planned in report.planned:
        table.add_row(planned.state, planned.channel, planned.recipient, planned.about, planned.subject)
    return table


@app.command()
def remind(
    as_of: str | None = typer.Option(None, "--as-of", help="Run as if it were this moment (ISO; local time if no offset)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show who would get what; send nothing."),
) -> None:
    """Send the reminders due now (or --as-of): the scheduler's own job, run by hand."""
    from intake.jobs import send_due_reminders

    runtime = _runtime()

    async def work(rt: Runtime) -> None:
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
        with _progress() as progress:
            task = progress.add_task("Sending", total=report.recorded)
            emails, posts = await rt.deliver_now(each=lambda n: progress.advance(task, n))
        console.print(f"Recorded {report.recorded} reminder(s); sent {emails} email(s) and {posts} Slack post(s) now.")

    _run(work, runtime, create=not dry_run)


@app.command()
def digest(
    as_of: str | None = typer.Option(None, "--as-of", help="Run as if it were this moment (ISO; local time if no offset)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the digest and who would get it; send nothing."),
    html: Path | None = typer.Option(None, "--html", help="Also write the HTML digest to this file."),
    now_: bool = typer.Option(False, "--now", help="Send one now, whatever the schedule."),
) -> None:
    """Send the CIB team's digest if one is due now (or --as-of), or --now on demand;
    --dry-run --html PATH to look at it."""
    from intake.jobs import send_digest

    runtime = _runtime()

    async def work(rt: Runtime) -> None:
        now = _as_of(rt, as_of)
        report = await send_digest(rt.jobs, now=now, dry_run=dry_run, on_demand=now_)
        if html:
            html.write_text(report.html or "", encoding="utf-8")
            console.print(f"Wrote {html}")
        if dry_run:
            from intake.export import visible

            sys.stdout.write(visible(report.text or "") + "\n")
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

    _run(work, runtime, create=not dry_run)


@app.command()
def schedule(
    as_of: str | None = typer.Option(None, "--as-of", help="List from this moment (ISO; local time if no offset)."),
    days: int = typer.Option(7, "--digests", help="How many coming digests to list."),
    all_slots: bool = typer.Option(False, "--all", help="Also list reminder times already past."),
) -> None:
    """List the coming reminder and digest times, and what has been recorded for each."""
    from intake import digest as digests
    from intake import reminders as plan

    runtime = _runtime()

    async def work(rt: Runtime) -> None:
        now = _as_of(rt, as_of)
        titles = {t.key: t.short_title for t in rt.campaign.targets()}
        table = _table("when", "what", "before deadline", "recorded", title=f"Reminders (as of {rt.service.when(now)})")
        async with rt.store.reader() as unit:
            for slot in plan.upcoming_slots(rt.campaign, now, past=all_slots):
                counts = await unit.outbound.count_by_status(f"{plan.KIND}:{slot.key}:")
                recorded = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "-"
                offset = "deadline day" if slot.offset == 0 else f"{slot.offset} working days"
                table.add_row(rt.service.when(slot.at), ", ".join(titles[k] for k in slot.targets), offset, recorded)
            console.print(table)
            table = _table("when", "recorded", title="Digests")
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

    async def run(rt: Runtime) -> None:
        done = await work(rt)
        if done.told:
            await rt.deliver_now()
        style = "green" if done.ok else "red"
        told = " The sender has been told." if done.told else ""
        console.print(f"[{style}]{_escaped(done.message)}[/{style}]{told}", highlight=False)
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

    async def work(rt: Runtime) -> list[Any]:
        return await rt.team.audit(reference)

    runtime = _runtime()
    entries = _run(work, runtime)
    if not entries:
        console.print(f"Nothing is recorded for {_escaped(reference.upper())}.")
        raise typer.Exit(1)
    from intake.team.board import detail_words, field_titles

    table = _table("when", "who", "what", "detail", title=f"Audit trail of {reference.upper()}")
    titles = field_titles(runtime.campaign)
    for entry in entries:
        detail = detail_words(entry.detail, runtime.campaign, runtime.councils, titles)  # as the workspace says it
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

    async def work(rt: Runtime) -> str:
        return await appendix.render(rt.service, format.value, renderer=rt.renderer, now=rt.clock())

    payload = _run(work)
    if output:
        output.write_text(payload, encoding="utf-8")
        console.print(f"Wrote {output}")
    else:
        sys.stdout.write(payload)
