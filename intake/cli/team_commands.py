"""The team's actions on entries from the command line: `cib verify`, `cib reject`,
`cib decide` and `cib audit`, through the same code as the workspace and Slack."""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

from intake.cli.common import (
    act_and_tell,
    actor_name,
    app,
    console,
    escaped,
    make_runtime,
    new_table,
    run_with_database,
)

if TYPE_CHECKING:
    from intake.runtime.composition import Runtime


@app.command()
def verify(
    reference: str,
    actor: str | None = typer.Option(None, "--as", help="Who is acting (for the audit trail)."),
) -> None:
    """Verify an entry: the team has checked it with the council. The sender is told."""
    act_and_tell(lambda rt: rt.team.verify(reference, actor=actor_name(actor)))


@app.command()
def reject(
    reference: str,
    reason: str = typer.Option(..., "--reason", help="Why: the sender is told."),
    actor: str | None = typer.Option(None, "--as", help="Who is acting (for the audit trail)."),
) -> None:
    """Reject an entry (not genuine, or not one the programme can take). The sender is told why."""
    act_and_tell(lambda rt: rt.team.reject(reference, actor=actor_name(actor), reason=reason))


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
    act_and_tell(lambda rt: rt.team.decide(reference, decision.value, actor=actor_name(actor), note=note))


@app.command()
def audit(reference: str) -> None:
    """The audit trail of one entry: what happened to it, when, and who did it."""

    async def work(rt: Runtime) -> list[Any]:
        return await rt.team.audit(reference)

    runtime = make_runtime()
    entries = run_with_database(work, runtime)
    if not entries:
        console.print(f"Nothing is recorded for {escaped(reference.upper())}.")
        raise typer.Exit(1)
    from intake.team.board import detail_words, field_titles

    table = new_table("when", "who", "what", "detail", title=f"Audit trail of {reference.upper()}")
    titles = field_titles(runtime.campaign)
    for entry in entries:
        detail = detail_words(entry.detail, runtime.campaign, runtime.councils, titles)  # as the workspace says it
        table.add_row(runtime.service.when(entry.at), entry.actor or "", entry.action, detail)
    console.print(table)
