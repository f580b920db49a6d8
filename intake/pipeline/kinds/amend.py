"""The amend kind: a reference with new values ("PBR-0007 Contact name: Sam Lee").
Someone who may change the submission changes it (audited); a nomination reference with
new details is a fresh nomination for that region."""
from __future__ import annotations

from typing import Any

from intake.messages import Reply
from intake.pipeline.kinds import submission
from intake.pipeline.kinds.rules import find_reference, may_change_submission, set_fields
from intake.pipeline.kinds.views import submission_context
from intake.pipeline.run import Run
from intake.replies import errors_view, form_view


async def handle(run: Run) -> None:
    assert run.parsed is not None
    now, world = run.now, run.world
    amended: list[dict[str, Any]] = []
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
        if not may_change_submission(run, found):
            refused.append(submission_context(world, found, now, {}))
            continue
        offer = world.campaign.offer(found.offer)
        draft = next((s for s in run.parsed.submissions if s.offer == found.offer), None)
        values = dict(draft.values) if draft else {}
        changes = set_fields(found, values, now) if values else {}
        if changes:
            run.tx.audit.record(
                at=now, actor=run.sender, action="amended", entity="submission", entity_id=found.id,
                reference=found.reference, detail={"changes": changes}, inbound_id=run.row.id,
            )
        view = submission_context(world, found, now, changes)
        view["errors"] = errors_view(list(draft.errors) if draft else [], world.campaign, offer)
        view["form"] = form_view(world.campaign, offer, found.fields, world.councils)
        amended.append(view)
    context = {"amended": amended, "refused": refused, "unknown": unknown}
    run.replies.append(Reply(kind="amended" if amended else "refused", context=context))
