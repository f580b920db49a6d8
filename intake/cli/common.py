"""What every `cib` command shares: the Typer app, the consoles (results to standard
output, errors and progress to stderr), opening the service's database around a piece of
work, and tables that show what people typed as text, never as markup."""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.table import Table

    from intake.runtime.composition import Runtime
    from intake.runtime.settings import Settings

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
# debug: show tracebacks; log_json: `cib serve` speaks in JSON log records (CIB_LOG_FORMAT=json).
options = {"debug": False, "log_json": False}


def version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cib-intake")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def show_version(value: bool) -> None:
    if value:
        console.print(f"cib-intake {version_text()}", highlight=False)
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True,
                                 help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error."),
) -> None:
    """CIB intake: expressions of interest, nominations and questions for the CIB."""
    options["debug"] = debug


def new_table(*columns: str, title: str | None = None) -> Table:
    from rich.table import Table

    class Plain(Table):
        def add_row(self, *cells: Any, **options: Any) -> None:
            # What people typed is text: never rich markup, never a control for the terminal.
            super().add_row(*(plain_text(c) if isinstance(c, str) else c for c in cells), **options)

    return Plain(*columns, title=title)


def escaped(text: str) -> str:
    """Text to put inside console markup: shown as typed."""
    from rich.markup import escape

    from intake.reports.export import visible

    return escape(visible(text))


def plain_text(text: str) -> Any:
    from rich.text import Text

    from intake.reports.export import visible

    return Text(visible(text))


def make_runtime(settings: Settings | None = None) -> Runtime:
    from intake.runtime.composition import create_service
    from intake.runtime.settings import Settings

    return create_service(settings or Settings())


def run_with_database(work: Callable[[Runtime], Awaitable[T]], runtime: Runtime | None = None, *, create: bool = False) -> T:
    """Open the database (`create`: make it if there is none; otherwise a command that
    finds none says so and makes nothing), do the work, close."""
    from intake.runtime.schema import open_database

    runtime = runtime or make_runtime()

    async def main() -> T:
        try:
            await open_database(runtime.store, runtime.settings.database_url, create=create)
            return await work(runtime)
        finally:
            await runtime.store.close()

    return asyncio.run(main())


def progress_bar() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=errors, transient=True)


def configure_logging(settings: Any) -> None:
    from intake.runtime.log_format import configure_logging as configure

    configure(json=settings.log_format == "json", level=settings.log_level)
    options["log_json"] = settings.log_format == "json"


def tell(text: str, *, level: int = logging.INFO) -> None:
    """What `cib serve` says to its operator: a log record when it logs JSON (every line it
    writes is then JSON), otherwise a line on the console (errors on stderr)."""
    if options["log_json"]:
        logging.getLogger("intake.cli").log(level, text)
    else:
        (console if level < logging.WARNING else errors).print(text, markup=False, highlight=False)


def checked_files(settings: Any) -> list[Any]:
    from intake.runtime.checks import check_files
    from intake.runtime.composition import template_filters

    return check_files(settings, filters=template_filters())


def show_findings(findings: list[Any]) -> bool:
    """The findings as a table (standard output if all passed, else stderr); as log
    records when logging JSON. True if all passed."""
    from rich.text import Text

    if options["log_json"]:
        for finding in findings:
            level = logging.ERROR if not finding.ok else logging.WARNING if finding.warning else logging.INFO
            tell(f"check {finding.what}: {_verdict(finding)}: {finding.detail}", level=level)
        return all(f.ok for f in findings)
    styles = {"ok": "green", "warning": "yellow", "problem": "red"}
    table = new_table("check", "", "detail")
    for finding in findings:
        table.add_row(finding.what, Text(_verdict(finding), style=styles[_verdict(finding)]), finding.detail)
    (console if all(f.ok for f in findings) else errors).print(table)
    return all(f.ok for f in findings)


def _verdict(finding: Any) -> str:
    return "problem" if not finding.ok else "warning" if finding.warning else "ok"



def moment_of(runtime: Runtime, value: str | None) -> Any:
    from datetime import datetime

    if not value:
        return runtime.clock()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        console.print(f"[red]--as-of {escaped(repr(value))} is not an ISO date and time, "
                      "e.g. 2027-05-21T09:00[/red]")
        raise typer.Exit(2) from error
    # A bare local time means the campaign's time zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=runtime.campaign.tz)


def report_table(report: Any, *, title: str) -> Table:
    table = new_table("state", "channel", "to", "about", "subject", title=title)
    for planned in report.planned:
        table.add_row(planned.state, planned.channel, planned.recipient, planned.about, planned.subject)
    return table



def act_and_tell(work: Callable[[Runtime], Awaitable[Any]]) -> None:
    """Run one team action, then send the reply it recorded for the sender."""

    async def run(rt: Runtime) -> None:
        done = await work(rt)
        if done.told:
            await rt.deliver_now()
        style = "green" if done.ok else "red"
        told = " The sender has been told." if done.told else ""
        console.print(f"[{style}]{escaped(done.message)}[/{style}]{told}", highlight=False)
        if not done.ok:
            raise typer.Exit(1)

    run_with_database(run)


def actor_name(actor: str | None) -> str:
    return actor or os.environ.get("USER") or "the CIB team"
