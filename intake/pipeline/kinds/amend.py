"""The amend kind: a reference with new values ("PBR-0007 Contact name: Sam Lee").
Someone who may change the submission changes it (audited); from anyone else the change
waits for the contact on record to confirm it; a nomination reference with new details
is a fresh nomination for that region."""
from __future__ import annotations

from typing import Any

from intake.messages import Reply
from intake.pipeline.kinds import submission
from intake.pipeline.kinds.rules import (
    brief, contact_of, find_reference, hold, may_change_submission, may_see, set_fields, titles_of,
)
from intake.pipeline.kinds.views import submission_context
from intake.pipeline.run import Run
from intake.replies import errors_view, form_view


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
        values = dict(draft.values) if draft else {}
        if not may_change_submission(run, found):
            titles = titles_of(world, found)
            summary = "change " + (", ".join(titles.get(k, k) for k in values) or "it")
            view = brief(world, found)
            if hold(run, target=found.reference, contact=contact_of(found), summary=summary, view=view,
                    reference=found.reference):
                held.append(view)
            else:
                refused.append(view)
            continue
        changes = set_fields(found, values, now) if values else {}
        if changes:
            run.tx.audit.record(
                at=now, actor=run.sender, action="amended", entity="submission", entity_id=found.id,
                reference=found.reference, detail={"changes": changes}, inbound_id=run.row.id,
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
