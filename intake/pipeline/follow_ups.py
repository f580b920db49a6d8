"""Follow-ups: a message answering our "what's missing" reply (by thread, or by the same
sender writing again about the same offer) completes the draft it was about. Someone
else's draft waits for its sender to confirm."""
from __future__ import annotations

from intake.models import IncompleteSubmission
from intake.parsing import Parsed, SubmissionDraft, parse_message
from intake.pipeline.kinds.change_rules import hold, jsonable
from intake.pipeline.run import Run, World
from intake.reports.reply_data import display


async def open_drafts(run: Run) -> list[IncompleteSubmission]:
    assert run.parsed is not None
    drafts = await run.tx.drafts.answered_by(run.msg.thread_ids)
    if not drafts and run.parsed.kind == "submission" and run.sender:
        offers = {d.offer for d in run.parsed.submissions}
        drafts = [d for d in await run.tx.drafts.open(run.sender, before_inbound=run.row.id) if d.offer in offers]
    return drafts


async def completed_by(run: Run) -> None:
    """Merge what this message adds into the drafts it answers; `run.completing` notes
    them, so the submission step completes or updates each."""
    parsed = run.parsed
    assert parsed is not None
    if parsed.kind in ("withdraw", "amend", "nomination"):
        return
    drafts = await open_drafts(run)
    if not drafts:
        return
    world, message = run.world, run.msg
    merged: list[SubmissionDraft] = []
    held = False
    for draft in {d.offer: d for d in sorted(drafts, key=lambda d: d.id)}.values():
        offer = world.campaign.offer(draft.offer)
        # Read again as being about that offer: a bare "Contact name: ..." says no offer.
        reread = parse_message(
            f"{offer.short_title} {message.subject}", message.text, campaign=world.campaign, councils=world.councils
        )
        new = next((s for s in reread.submissions if s.offer == draft.offer), None)
        if not _may_complete(run, draft):
            view = {"reference": None, "offer_title": offer.title, "offer_short_title": offer.short_title, "council": ""}
            held = hold(run, target=f"draft:{draft.id}", contact=draft.sender, view=view,
                        summary=f"complete the {offer.short_title} expression of interest you started",
                        changes=_added(world, draft, new)) or held
            continue
        if new is None:
            continue
        merged.append(SubmissionDraft(offer=draft.offer, values={**draft.fields, **new.values}, errors=new.errors))
        run.completing[draft.offer] = draft
    if merged:
        others = [s for s in parsed.submissions if s.offer not in {m.offer for m in merged}]
        run.parsed = Parsed(
            kind="submission", submissions=merged + others, references=parsed.references, text=parsed.text
        )
    elif held:
        run.parsed = Parsed(kind="held", text=parsed.text)


def _may_complete(run: Run, draft: IncompleteSubmission) -> bool:
    """One's own draft; someone else's only from a proven address of the same council,
    or once they have confirmed it."""
    if run.admin or draft.sender == run.sender or f"draft:{draft.id}" in run.confirmed:
        return True
    councils = run.world.councils
    theirs = councils.by_email(draft.sender)
    return run.proven and theirs is not None and councils.owns_address(theirs, run.sender)


def _added(world: World, draft: IncompleteSubmission, new: SubmissionDraft | None) -> list[dict[str, str]]:
    """What the message would add to the draft, old and new, for whoever started it."""
    if new is None:
        return []
    offer = world.campaign.offer(draft.offer)
    rows = []
    for spec in world.campaign.fields_for(offer):
        value = jsonable(new.values).get(spec.key)
        if spec.key in new.values and value != draft.fields.get(spec.key):
            rows.append({"key": spec.key, "title": spec.title,
                         "old": display(spec, draft.fields.get(spec.key), world.councils) or "(none)",
                         "new": display(spec, value, world.councils) or "(none)"})
    return rows
