"""Running the service: `cib serve`, `cib check`, `cib db upgrade`, `cib replay` and
`cib demo`."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from intake.cli.common import (
    app,
    checked_files,
    configure_logging,
    console,
    db_app,
    errors,
    make_runtime,
    new_table,
    options,
    progress_bar,
    run_with_database,
    show_findings,
    tell,
)

if TYPE_CHECKING:
    from intake.runtime.checks import Finding
    from intake.runtime.composition import Runtime
    from intake.runtime.settings import Settings


@app.command()
def serve(
    no_slack: bool = typer.Option(False, "--no-slack", help="Do not start the Slack bot."),
    no_scheduler: bool = typer.Option(False, "--no-scheduler", help="Do not send reminders or digests."),
) -> None:
    """Run the service: SMTP intake, outbound mail, the Slack bot and the scheduler.
    The checks of `cib check` run first; the service does not start if one fails, and
    nothing (not even a database) is made before the settings and ports are known good."""
    from intake.runtime.listeners import check_listeners
    from intake.runtime.log_format import configure_logging as configure
    from intake.runtime.settings_load import load_settings, raw_setting

    if raw_setting("log_format") == "json":
        # Even a refusal of the settings themselves is then a JSON record.
        configure(json=True)
        options["log_json"] = True
    settings = load_settings()
    configure_logging(settings)
    findings = checked_files(settings)
    if not all(f.ok for f in findings):
        show_findings([f for f in findings if not f.ok])
        raise typer.Exit(2)
    for finding in findings:
        if finding.warning:
            tell(f"{finding.what}: {finding.detail}", level=logging.WARNING)
    check_listeners(settings)
    asyncio.run(_serve(make_runtime(settings), slack=not no_slack, scheduler=not no_scheduler))


async def _serve(runtime: Runtime, *, slack: bool, scheduler: bool) -> None:
    from intake.runtime.checks import check_database
    from intake.runtime.listeners import StartupRefused, check_listeners
    from intake.runtime.schema import open_database

    try:
        await open_database(runtime.store, runtime.settings.database_url, create=True)
        findings = await check_database(runtime.store, runtime.campaign)
    except BaseException:
        await runtime.store.close()
        raise
    if not all(f.ok for f in findings):
        show_findings([f for f in findings if not f.ok])
        await runtime.store.close()
        raise typer.Exit(2)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.start(slack=slack, scheduler=scheduler)
    except OSError as error:
        # Taken since the ports were checked: name the setting if it is one of ours.
        with contextlib.suppress(Exception):
            await runtime.stop()
        check_listeners(runtime.settings)
        raise StartupRefused(f"{error.strerror or error} (CIB_SMTP_HOST, CIB_SMTP_PORT, CIB_HTTP_HOST, "
                             "CIB_HTTP_PORT say where it listens)") from error
    settings = runtime.settings
    # With CIB_SMTP_PORT=0 the mailbox is the only way in: there is no SMTP port to name.
    listening = (f"at {settings.smtp_host}:{runtime.smtp_port}" if runtime.smtp_server is not None
                 else "read from the mailbox (SMTP off)")
    tell(f"CIB intake is running: mail to {', '.join(settings.intake_addresses)} {listening}; replies go to "
         f"{runtime.delivery.transport.describe()}; the team's workspace and /healthz at "
         f"http://{settings.http_host}:{runtime.http_port}/. Ctrl-C stops it.")
    await stop.wait()
    await runtime.stop()


@app.command()
def check() -> None:
    """Check the settings, the campaign, the councils, the contacts and every template, and
    that the entries in the database are all for offers the campaign still has. A database
    with no schema yet (a new one) passes: `cib serve` creates the schema."""
    from intake.runtime.settings_load import load_settings

    from intake.runtime.checks import check_ports

    settings = load_settings()
    findings = checked_files(settings)
    findings.append(check_ports(settings))
    findings.append(_database_finding(settings, findings[:-1]))
    if not show_findings(findings):
        raise typer.Exit(1)
    warned = sum(f.warning for f in findings)
    console.print("All checks passed" + (f", with {warned} warning{'s' * (warned > 1)} above." if warned else "."))


def _database_finding(settings: Settings, findings: list[Finding]) -> Finding:
    from intake.runtime.checks import Finding, check_database
    from intake.runtime.schema import NoDatabase, shown_url, sqlite_file

    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        return Finding("database", True, f"none yet at {path} (`cib serve` makes it)")
    if not all(f.ok for f in findings):
        return Finding("database", False, "not checked until the files above are right")
    try:
        found = run_with_database(lambda rt: check_database(rt.store, rt.campaign), make_runtime(settings))
    except NoDatabase:
        return Finding("database", True, f"{shown_url(settings.database_url)}: no schema yet "
                                         "(`cib serve` or `cib db upgrade` creates it)")
    return found[0]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from intake.runtime.schema import shown_url
    from intake.runtime.settings_load import load_settings

    async def nothing(rt: Runtime) -> None:
        return None

    runtime = make_runtime(load_settings())
    run_with_database(nothing, runtime, create=True)
    console.print(f"Database is up to date: {shown_url(runtime.settings.database_url)}")


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
        with progress_bar() as progress:
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
            table = new_table("inbound", "was", "now", title=f"{len(changed)} read differently")
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

    run_with_database(work)


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
    from intake.cli.demo import KEPT, NotADemo, run_demo

    kept = database or (KEPT if keep else None)
    try:
        asyncio.run(run_demo(console, keep=kept))
    except NotADemo as refusal:
        errors.print(str(refusal), markup=False, highlight=False)
        raise typer.Exit(2) from None
