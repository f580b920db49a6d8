"""The submission kind: expressions of interest (and regional lead nominations sent in
the same message). A complete one is recorded under a new reference, or updates the
council's active one; an incomplete one is kept as a draft and the reply says what is
missing; a reply that completes a draft (see `follow_ups.py`) closes it."""
from __future__ import annotations

from intake.campaign.definition import Offer
from intake.campaign.register import Council
from intake.messages import Notice, Reply
from intake.models import IncompleteSubmission, Submission
from intake.parsing import SubmissionDraft, Value, apply_defaults, missing_required
from intake.pipeline.kinds import nomination
from intake.pipeline.kinds.receipt import Receipt
from intake.pipeline.kinds.change_rules import (
    brief, change_rows, contact_of, hold, jsonable, may_change, may_see, offer_of, set_fields, speaks_for,
)
from intake.pipeline.kinds.reply_views import submission_context, which_offer
from intake.pipeline.run import Run, World
from intake.reports.reply_data import deadline_view, display, errors_view, form_view


async def handle(run: Run) -> None:
    assert run.parsed is not None
    receipt = Receipt()
    for draft in run.parsed.submissions:
        await file(run, draft, receipt)
    for draft in run.parsed.nominations:
        await nomination.file(run, draft, receipt)
    # Drafts that were being completed by this message and did not get there stay open.
    run.replies.append(Reply(kind=receipt.kind, context=receipt.context()))


async def file(run: Run, draft: SubmissionDraft, receipt: Receipt) -> None:
    world = run.world
    offer = offer_of(run, draft.offer)
    if offer is None:
        receipt.incomplete.append(which_offer(run, draft))
        return
    values = apply_defaults(world.campaign, offer.key, draft.values, sender=run.sender, councils=world.councils)
    inferred = dict(draft.inferred)
    own = world.councils.by_email(run.sender)
    if "council" in inferred and own is not None and values.get("council") != own.code:
        # A name in the letter ("our neighbours in Bury") does not outweigh the domain it came from.
        values["council"] = own.code
        inferred.pop("council")
    errors = list(draft.errors) + missing_required(world.campaign, offer.key, values)
    answered = run.completing.get(offer.key)
    if answered is not None:
        # Complete now, or keep what we have so far for the next follow-up.
        if errors:
            answered.fields = jsonable(values)
        else:
            answered.status = "completed"
    if errors:
        await _keep_draft(run, offer, values)
        receipt.incomplete.append(
            {
                "offer": offer.key,
                "offer_title": offer.title,
                "offer_short_title": offer.short_title,
                "errors": errors_view(errors, world.campaign, offer),
                "form": form_view(world.campaign, offer, values, world.councils),
                "deadline": deadline_view(offer, world.campaign, run.now),
            }
        )
        return
    council = world.councils.get(str(values["council"]))
    assert council is not None
    await _record(run, offer, council, values, receipt, inferred=_inferred(world, offer, values, inferred))


async def _keep_draft(run: Run, offer: Offer, values: dict[str, Value]) -> None:
    stored = await run.tx.drafts.from_inbound(run.row.id, offer.key)
    if stored is not None:
        stored.fields = jsonable(values)
        return
    await run.tx.add(
        IncompleteSubmission(
            offer=offer.key, sender=run.sender, channel=run.row.channel, fields=jsonable(values),
            created_at=run.now, inbound_id=run.row.id,
        )
    )


def _inferred(world: World, offer: Offer, values: dict[str, Value], inferred: dict[str, str]) -> list[dict[str, str]]:
    """What was read from prose rather than label lines, for the reply to say so."""
    specs = {spec.key: spec for spec in world.campaign.fields_for(offer)}
    return [
        {"title": specs[key].title, "value": display(specs[key], values.get(key), world.councils), "source": source}
        for key, source in inferred.items() if key in specs and values.get(key) not in (None, "")
    ]


async def _record(
    run: Run, offer: Offer, council: Council, values: dict[str, Value], receipt: Receipt,
    *, inferred: list[dict[str, str]] | None = None,
) -> None:
    """A new submission; or the update of the council's active one for the same offer,
    from someone who may change it; or, from anyone else, that update held until the
    contact on record confirms it. A verified sender's entry is never merged into an
    unverified one: it replaces it."""
    now = run.now
    existing = await run.tx.submissions.from_inbound(run.row.id, offer.key)
    if existing is None:
        current = await run.tx.submissions.current(council.code, offer.key)
        if current is not None and may_change(run, council, current):
            if current.verified or not speaks_for(run, council) or current.sender == run.sender:
                _update(run, current, values, receipt)
                return
            _supersede(run, current)
        elif current is not None and (current.verified or current.sender == run.sender):
            view = brief(run.world, current)
            if hold(run, target=current.reference, contact=contact_of(current), view=view,
                    summary="replace it with a new expression of interest", reference=current.reference,
                    changes=change_rows(run.world, current, values), council=current.council_code):
                receipt.held.append(view)
                return
        existing = await create(run, offer, council, values)
        run.notices.append(Notice(
            f"{existing.reference}: {offer.short_title} from {council.name}"
            + (" (late)" if existing.late else "")
            + ("" if existing.verified else f" (unverified sender: {_who(run)})"),
            unverified=() if existing.verified else (existing.reference,),
        ))
    view = submission_context(run.world, existing, now, {})
    view["inferred"] = inferred or []
    if offer.capacity:
        # The 31st council is not told "there are 30 places" as if one were waiting for it.
        view["entries"] = await run.tx.submissions.count(offer=offer.key)
    receipt.recorded.append(view)


def _update(run: Run, current: Submission, values: dict[str, Value], receipt: Receipt) -> None:
    changes = set_fields(current, values, run.now)
    council = run.world.councils.get(current.council_code)
    if not current.verified and council is not None and speaks_for(run, council):
        current.verified = True  # its sender, proven this time at the council's domain
        run.tx.audit.record(
            at=run.now, actor=run.sender, action="verified", entity="submission", entity_id=current.id,
            reference=current.reference, detail={"via": "resubmission from a proven address"}, inbound_id=run.row.id,
        )
    if changes:
        run.tx.audit.record(
            at=run.now, actor=run.sender, action="amended", entity="submission", entity_id=current.id,
            reference=current.reference, detail={"changes": changes, "via": "resubmission"},
            inbound_id=run.row.id,
        )
    view = submission_context(run.world, current, run.now, changes) if may_see(run, current) else brief(run.world, current)
    view.setdefault("changes", [])
    receipt.updated.append(view)


def _supersede(run: Run, unverified: Submission) -> None:
    """The council's own, proven, entry takes the place of an unverified one."""
    unverified.status = "superseded"
    unverified.updated_at = run.now
    run.tx.audit.record(
        at=run.now, actor=run.sender, action="superseded", entity="submission", entity_id=unverified.id,
        reference=unverified.reference, detail={"by": "an entry from the council's proven address"},
        inbound_id=run.row.id,
    )
    run.notices.append(Notice(
        f"{unverified.reference} (unverified, from {unverified.sender}) is superseded by the council's own entry"
    ))


def _who(run: Run) -> str:
    proof = run.authentication.describe() if run.authentication else "not proven"
    return f"{run.sender or 'unknown'}, {proof}"


async def create(run: Run, offer: Offer, council: Council, values: dict[str, Value]) -> Submission:
    world, row = run.world, run.row
    number = await run.tx.counters.next(offer.reference_prefix)
    verified = speaks_for(run, council)
    submission = await run.tx.add(
        Submission(
            reference=f"{offer.reference_prefix}-{number:04d}",
            offer=offer.key,
            council_code=council.code,
            contact_name=str(values.get("contact_name", "")),
            contact_email=str(values.get("contact_email", "")),
            sender=run.sender,
            channel=row.channel,
            received_at=row.received_at,
            updated_at=row.received_at,
            late=world.campaign.is_late(offer.key, row.received_at),
            verified=verified,
            status="active",
            fields=jsonable(values),
            inbound_id=row.id,
        )
    )
    run.tx.audit.record(
        at=run.now, actor=run.sender, action="created", entity="submission", entity_id=submission.id,
        reference=submission.reference,
        detail={"fields": jsonable(values), "late": submission.late, "verified": verified},
        inbound_id=row.id,
    )
    return submission
