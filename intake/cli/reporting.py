"""What the service tells, by hand: `cib export`, `cib remind`, `cib digest`, `cib schedule`
and `cib leads` (Appendix A)."""
from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from intake.cli.common import (
    app,
    console,
    errors,
    make_runtime,
    moment_of,
    new_table,
    progress_bar,
    report_table,
    run_with_database,
)

if TYPE_CHECKING:
    from intake.runtime.composition import Runtime


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
    from intake.reports import export as exporting

    if format is ExportFormat.xlsx and not output:
        errors.print("[red]XLSX needs --output PATH[/red]")
        raise typer.Exit(2)
    with progress_bar() as progress:
        step = progress.add_task("Exporting", total=3)
        data = run_with_database(lambda rt: rt.service.export())
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
def remind(
    as_of: str | None = typer.Option(None, "--as-of", help="Run as if it were this moment (ISO; local time if no offset)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show who would get what; send nothing."),
) -> None:
    """Send the reminders due now (or --as-of): the scheduler's own job, run by hand."""
    from intake.jobs import send_due_reminders

    runtime = make_runtime()

    async def work(rt: Runtime) -> None:
        now = moment_of(rt, as_of)
        report = await send_due_reminders(rt.jobs, now=now, dry_run=dry_run, catch_up=True)
        when = rt.service.when(now)
        if not report.due:
            console.print(f"No reminders are due at {when}. `cib schedule` lists the coming ones.")
        else:
            console.print(report_table(report, title=f"Reminders due at {when}: {', '.join(report.due)}"))
        for slot in report.skipped:
            console.print(f"[yellow]Skipped {slot}: missed by more than the grace period.[/yellow]")
        if report.unreachable:
            names = sorted({c.short_name if (c := rt.councils.get(code)) else code for code in report.unreachable})
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            console.print(f"[yellow]No address known for {len(names)}: {shown}[/yellow] (add them to contacts.csv)")
        if dry_run:
            console.print(f"Dry run: {sum(p.state == 'would send' for p in report.planned)} message(s) would be sent; nothing recorded.")
            return
        with progress_bar() as progress:
            task = progress.add_task("Sending", total=report.recorded)
            emails, posts = await rt.deliver_now(each=lambda n: progress.advance(task, n))
        console.print(f"Recorded {report.recorded} reminder(s); sent {emails} email(s) and {posts} Slack post(s) now.")

    run_with_database(work, runtime, create=not dry_run)


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

    runtime = make_runtime()

    async def work(rt: Runtime) -> None:
        now = moment_of(rt, as_of)
        report = await send_digest(rt.jobs, now=now, dry_run=dry_run, on_demand=now_)
        if html:
            html.write_text(report.html or "", encoding="utf-8")
            console.print(f"Wrote {html}")
        if dry_run:
            from intake.reports.export import visible

            sys.stdout.write(visible(report.text or "") + "\n")
        if not report.due:
            console.print(f"No digest is due at {rt.service.when(now)} (daily at {rt.campaign.digest.time:%H:%M}, "
                          f"within {rt.campaign.digest.grace_hours:g} hours). `cib schedule` lists the coming ones.")
            return
        console.print(report_table(report, title=f"Digest due {report.due[0]}"))
        if not report.planned:
            console.print("Nobody to send it to: set CIB_TEAM_EMAILS and/or CIB_TEAM_SLACK_CHANNEL.")
        if dry_run:
            return
        emails, posts = await rt.deliver_now()
        console.print(f"Recorded {report.recorded} digest(s); sent {emails} email(s) and {posts} Slack post(s) now.")

    run_with_database(work, runtime, create=not dry_run)


@app.command()
def schedule(
    as_of: str | None = typer.Option(None, "--as-of", help="List from this moment (ISO; local time if no offset)."),
    days: int = typer.Option(7, "--digests", help="How many coming digests to list."),
    all_slots: bool = typer.Option(False, "--all", help="Also list reminder times already past."),
) -> None:
    """List the coming reminder and digest times, and what has been recorded for each."""
    from intake.reports import digest as digests
    from intake.reports import reminders as plan

    runtime = make_runtime()

    async def work(rt: Runtime) -> None:
        now = moment_of(rt, as_of)
        titles = {t.key: t.short_title for t in rt.campaign.targets()}
        table = new_table("when", "what", "before deadline", "recorded", title=f"Reminders (as of {rt.service.when(now)})")
        async with rt.store.reader() as unit:
            for slot in plan.upcoming_slots(rt.campaign, now, past=all_slots):
                counts = await unit.outbound.count_by_status(f"{plan.KIND}:{slot.key}:")
                recorded = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "-"
                offset = "deadline day" if slot.offset == 0 else f"{slot.offset} working days"
                table.add_row(rt.service.when(slot.at), ", ".join(titles[k] for k in slot.targets), offset, recorded)
            console.print(table)
            table = new_table("when", "recorded", title="Digests")
            for moment in [m for m in [digests.due_digest(rt.campaign, now)] if m] + digests.upcoming_digests(rt.campaign, now, days):
                counts = await unit.outbound.count_by_status(f"{digests.KIND}:{moment.date().isoformat()}:")
                table.add_row(rt.service.when(moment), ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "-")
        console.print(table)
        console.print(f"Missed runs are caught up on start within {rt.campaign.reminders.grace_hours:g} hours (reminders) "
                      f"and {rt.campaign.digest.grace_hours:g} hours (digest).")

    run_with_database(work, runtime)


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
    from intake.reports import appendix_a as appendix

    async def work(rt: Runtime) -> str:
        return await appendix.render(rt.service, format.value, renderer=rt.renderer, now=rt.clock())

    payload = run_with_database(work)
    if output:
        output.write_text(payload, encoding="utf-8")
        console.print(f"Wrote {output}")
    else:
        sys.stdout.write(payload)
