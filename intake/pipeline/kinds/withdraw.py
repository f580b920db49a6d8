"""The withdraw kind: "please withdraw PBR-0007". Only someone who may change the
submission withdraws it; the reply says what was withdrawn, refused or not found."""
from __future__ import annotations

from typing import Any

from intake.messages import Reply
from intake.models import Submission
from intake.pipeline.kinds.rules import find_reference, may_change_submission
from intake.pipeline.kinds.views import submission_context
from intake.pipeline.run import Run


async def handle(run: Run) -> None:
    assert run.parsed is not None
    now, world = run.now, run.world
    done: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    unknown: list[str] = []
    for reference in run.parsed.references:
        found = await find_reference(run, reference)
        if not isinstance(found, Submission):
            unknown.append(reference)
            continue
        if not may_change_submission(run, found):
            refused.append(submission_context(world, found, now, {}))
            continue
        if found.status != "withdrawn":
            found.status = "withdrawn"
            found.updated_at = now
            run.tx.audit.record(
                at=now, actor=run.sender, action="withdrawn", entity="submission",
                entity_id=found.id, reference=found.reference, inbound_id=run.row.id,
            )
            run.notices.append(f"{found.reference} withdrawn by {run.sender}")
        done.append(submission_context(world, found, now, {}))
    context = {"withdrawn": done, "refused": refused, "unknown": unknown}
    run.replies.append(Reply(kind="withdrawn" if done else "refused", context=context))
