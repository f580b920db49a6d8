"""The nomination kind: regional leads for a region. Each named person becomes the
current lead for their role, superseding the one before (an unverified nomination in
place of a verified lead waits for its nominator to confirm); the reply shows the
region's leads as they now stand."""
from __future__ import annotations

from intake.messages import Notice
from intake.models import Nomination
from intake.parsing import FieldError, NominationDraft, PersonDraft, name_at_least_one
from intake.pipeline.kinds.receipt import Receipt
from intake.pipeline.kinds.change_rules import hold
from intake.pipeline.kinds.reply_views import nomination_incomplete
from intake.pipeline.run import Run
from intake.reports.reply_data import errors_view, nomination_view


async def file(run: Run, draft: NominationDraft, receipt: Receipt) -> None:
    world = run.world
    errors = list(draft.errors)
    if draft.region is None or not draft.people:
        if draft.region is None and not any(e.field == "region" for e in errors):
            errors.append(FieldError("region", "Which region is this nomination for?"))
        errors += name_at_least_one(world.campaign, [p.role for p in draft.people])
        receipt.incomplete.append(nomination_incomplete(world, errors, run.now))
        return
    bad_roles = {e.field.partition(".")[0] for e in errors}
    people = [p for p in draft.people if p.role not in bad_roles and p.name]
    kept = await run.tx.nominations.from_inbound(run.row.id)
    if not kept and people:
        people = await _held_back(run, draft.region, people, receipt)
    if not kept and people:
        kept = await _record(run, draft.region, people)
    if kept:
        current = await run.tx.nominations.all(region=draft.region)
        view = nomination_view(kept[0].reference, draft.region, kept, current, world.campaign, world.councils, run.now)
        view["errors"] = errors_view(errors, world.campaign, None)
        receipt.nominations.append(view)
    if errors:
        receipt.incomplete.append(nomination_incomplete(world, errors, run.now))


def _verified(run: Run, region: str) -> bool:
    """From the team, or from a proven address of a council in the region."""
    council = run.world.councils.by_email(run.sender)
    return run.admin or (run.proven and council is not None and council.region == region)


async def _held_back(run: Run, region: str, people: list[PersonDraft], receipt: Receipt) -> list[PersonDraft]:
    """An unverified nomination never replaces a verified lead on its own: that waits for
    whoever nominated the lead to confirm it. Returns the people who may be recorded now."""
    if _verified(run, region):
        return people
    current = {n.role: n for n in await run.tx.nominations.all(region=region) if n.verified}
    spec = run.world.campaign.nomination
    free = []
    for person in people:
        lead, target = current.get(person.role), f"lead:{region}:{person.role}"
        if lead is None or target in run.confirmed:
            free.append(person)
            continue
        title = spec.role(person.role).title
        view = {"reference": lead.reference, "region": region, "role": title, "offer_title": spec.title}
        if hold(run, target=target, contact=lead.sender or lead.email, view=view, reference=lead.reference,
                summary=f"name {person.name} as {title} for {region} in place of the lead you nominated",
                changes=[{"key": person.role, "title": title, "old": lead.name or "(none)", "new": person.name or ""}]):
            receipt.held.append(view)
    return free


async def _record(run: Run, region: str, people: list[PersonDraft]) -> list[Nomination]:
    world, row = run.world, run.row
    spec = world.campaign.nomination
    number = await run.tx.counters.next(spec.reference_prefix)
    reference = f"{spec.reference_prefix}-{number:04d}"
    verified = _verified(run, region)
    late = world.campaign.is_late(spec.key, row.received_at)
    kept: list[Nomination] = []
    for person in people:
        await run.tx.nominations.supersede(region, person.role)
        nomination = await run.tx.add(
            Nomination(
                reference=reference, region=region, role=person.role, name=person.name or "",
                council_code=person.council_code, email=person.email, sender=run.sender,
                channel=row.channel, received_at=row.received_at, late=late,
                verified=verified, current=True, inbound_id=row.id,
            )
        )
        run.tx.audit.record(
            at=run.now, actor=run.sender, action="nominated", entity="nomination", entity_id=nomination.id,
            reference=reference, detail={"region": region, "role": person.role, "name": nomination.name},
            inbound_id=row.id,
        )
        kept.append(nomination)
    run.notices.append(Notice(
        f"{reference}: regional leads for {region} (" + ", ".join(spec.role(p.role).title for p in people) + ")"
        + ("" if verified else f" (unverified sender: {run.sender or 'unknown'})"),
        unverified=() if verified else (reference,),
    ))
    return kept
