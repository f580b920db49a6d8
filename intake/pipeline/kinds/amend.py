"""The amend kind: a reference with new values ("PBR-0007 Contact name: Sam Lee").
Someone who may change the submission changes it (audited); from anyone else the change
waits for the contact on record to confirm it; a move to another council waits for the
CIB team, whoever asks; a nomination reference with new details is a fresh nomination
for that region. The submission is read under a row lock, so two amendments at once
both stand."""
from __future__ import annotations

from typing import Any

from intake.messages import Notice, Reply
from intake.models import Submission
from intake.parsing import SubmissionDraft, Value
from intake.pipeline.kinds import submission
from intake.pipeline.kinds.change_rules import (
    brief, change_rows, contact_of, find_reference, hold, hold_for_team, may_change_submission, may_see,
    set_fields, speaks_for, titles_of,
)
from intake.pipeline.kinds.reply_views import submission_context
from intake.pipeline.run import Run, World
from intake.reports.reply_data import errors_view, form_view


async def handle(run: Run) -> None:
    assert run.parsed is not None
    now, world = run.now, run.world
    amended: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    unknown: list[str] = []
    for reference in run.parsed.references:
        found = await find_reference(run, reference)
        if isinstance(found, list):
            await submission.handle(run)
            return
        if found is None:
            unknown.append(reference)
            continue
        offer = world.campaign.offer(found.offer)
        draft = next((s for s in run.parsed.submissions if s.offer == found.offer), None)
        values = asked_values(draft)
        decided = f"council:{found.reference}" in run.confirmed  # the team made the move
        if moves(found, values) and not run.admin and not decided:
            view = {**brief(world, found), "hold": "team"}
            rows = change_rows(world, found, values)
            hold_for_team(run, found, summary=move_summary(world, found, values, rows), view=view, changes=rows)
            held.append(view)
            continue
        if not decided and not may_change_submission(run, found):
            titles = titles_of(world, found)
            summary = "change " + (", ".join(titles.get(k, k) for k in values) or "it")
            view = brief(world, found)
            if hold(run, target=found.reference, contact=contact_of(found), summary=summary, view=view,
                    reference=found.reference, changes=change_rows(world, found, values), council=found.council_code):
                held.append(view)
            else:
                refused.append(view)
            continue
        before = found.council_code
        changes = set_fields(found, values, now) if values else {}
        if "council" in changes:
            _moved(run, found, before)
        if changes:
            run.tx.audit.record(
                at=now, actor=run.sender, action="amended", entity="submission", entity_id=found.id,
                reference=found.reference, detail={"changes": changes, **({"verified": found.verified}
                                                                           if "council" in changes else {})},
                inbound_id=run.row.id,
            )
        # Changed on the contact's confirmation, the requester is told what, not the details.
        shown = may_see(run, found)
        view = submission_context(world, found, now, changes) if shown else brief(world, found)
        view["changes"] = [titles_of(world, found).get(k, k) for k in changes]
        view["errors"] = errors_view(list(draft.errors) if draft else [], world.campaign, offer)
        if shown:
            view["form"] = form_view(world.campaign, offer, found.fields, world.councils)
        amended.append(view)
    context = {"amended": amended, "held": held, "refused": refused, "unknown": unknown}
    run.replies.append(Reply(kind="amended" if amended else "held" if held else "refused", context=context))


def asked_values(draft: SubmissionDraft | None) -> dict[str, Value]:
    """The values an amendment gives; a council only from its own line: one named in
    passing ("like our neighbours in Bury") never moves an entry."""
    if draft is None:
        return {}
    return {k: v for k, v in draft.values.items() if not (k == "council" and "council" in draft.inferred)}


def moves(found: Submission, values: dict[str, Value]) -> bool:
    """Whether the amendment gives the entry to another council."""
    return "council" in values and str(values["council"]) != found.council_code


def move_summary(world: World, found: Submission, values: dict[str, Value], rows: list[dict[str, str]]) -> str:
    def name(code: str) -> str:
        council = world.councils.get(code)
        return council.name if council else code

    others = [r["title"] for r in rows if r["key"] != "council"]
    return (f"move it from {name(found.council_code)} to {name(str(values['council']))}"
            + (f" and change {', '.join(others)}" if others else ""))


def _moved(run: Run, found: Submission, before: str) -> None:
    """Moved by the team's decision: verified only if its sender speaks for the new council
    (a proven address at one council's domain never vouches for another's entry)."""
    council = run.world.councils.get(found.council_code)
    found.verified = council is not None and speaks_for(run, council)
    old, new = run.world.councils.get(before), council
    run.notices.append(Notice(
        f"{found.reference} moved from {old.name if old else before} to {new.name if new else found.council_code}"
        + ("" if found.verified else f" (unverified: {run.sender or 'unknown sender'} does not write for it)"),
        unverified=() if found.verified else (found.reference,),
    ))
