"""The withdraw kind: "please withdraw PBR-0007". Someone who may change the submission
withdraws it; from anyone else it waits for the contact on record to confirm; the reply
says what was withdrawn, held, refused or not found. The submission is read under a row
lock (see `find_reference`)."""
from __future__ import annotations

from typing import Any

from intake.messages import Notice, Reply
from intake.models import Submission
from intake.pipeline.kinds.change_rules import brief, contact_of, find_reference, hold, may_change_submission, may_see
from intake.pipeline.kinds.reply_views import submission_context
from intake.pipeline.run import Run


async def handle(run: Run) -> None:
    assert run.parsed is not None
    now, world = run.now, run.world
    done: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    unknown: list[str] = []
    for reference in run.parsed.references:
        found = await find_reference(run, reference)
        if not isinstance(found, Submission):
            unknown.append(reference)
            continue
        if not may_change_submission(run, found):
            view = brief(world, found)
            if found.status == "active" and hold(
                run, target=found.reference, contact=contact_of(found), summary="withdraw it", view=view,
                reference=found.reference, council=found.council_code,
            ):
                held.append(view)
            else:
                refused.append(view)
            continue
        if found.status != "withdrawn":
            found.status = "withdrawn"
            found.updated_at = now
            run.tx.audit.record(
                at=now, actor=run.sender, action="withdrawn", entity="submission",
                entity_id=found.id, reference=found.reference, inbound_id=run.row.id,
            )
            run.notices.append(Notice(f"{found.reference} withdrawn by {run.sender}"))
        done.append(submission_context(world, found, now, {}) if may_see(run, found) else brief(world, found))
    context = {"withdrawn": done, "held": held, "refused": refused, "unknown": unknown}
    run.replies.append(Reply(kind="withdrawn" if done else "held" if held else "refused", context=context))
