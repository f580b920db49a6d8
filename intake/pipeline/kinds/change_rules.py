"""Rules the kinds share: who may change a submission (and who is asked to confirm a
change when the sender may not), finding a reference, applying new values to a submission."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from intake.campaign.definition import Offer
from intake.campaign.register import Council
from intake.models import Nomination, Submission
from intake.parsing import Value
from intake.reports.reply_data import deadline_view, display
from intake.pipeline.run import Pending, Run, World


def speaks_for(run: Run, council: Council) -> bool:
    """A proven address at the council's domain (or the team): what makes an entry verified."""
    return run.admin or (run.proven and run.world.councils.owns_address(council, run.sender))


def may_change(run: Run, council: Council, submission: Submission | None) -> bool:
    """The team; a proven sender at the council's domain, or the proven address that sent
    the submission; or anyone, once the contact on record has confirmed the change."""
    if run.admin or speaks_for(run, council):
        return True
    if submission is None:
        return False
    if submission.reference in run.confirmed:
        return True
    return run.proven and bool(run.sender) and submission.sender == run.sender


def may_change_submission(run: Run, submission: Submission) -> bool:
    council = run.world.councils.get(submission.council_code)
    return council is not None and may_change(run, council, submission)


def may_see(run: Run, submission: Submission) -> bool:
    """Whether a reply may show the submission's details (its officers' names and
    addresses): only to whoever may change it of their own right, not on a confirmation."""
    if run.admin:
        return True
    council = run.world.councils.get(submission.council_code)
    if council is not None and speaks_for(run, council):
        return True
    return run.proven and bool(run.sender) and submission.sender == run.sender


def titles_of(world: World, submission: Submission) -> dict[str, str]:
    offer = world.campaign.offer(submission.offer)
    return {spec.key: spec.title for spec in world.campaign.fields_for(offer)}


def contact_of(submission: Submission) -> str | None:
    """Who is asked to confirm a change to a submission: the contact it names."""
    return (submission.contact_email or submission.sender or "").strip().lower() or None


def hold(
    run: Run, *, target: str, contact: str | None, summary: str, view: dict[str, Any], reference: str | None = None,
    changes: list[dict[str, str]] | None = None, council: str | None = None,
) -> bool:
    """Keep a change back until `contact` confirms it. False when there is nobody to ask.
    A change of contact email changes who may change the entry after it: it is marked,
    so the council's listed contacts hear of it too."""
    if not contact or "@" not in contact:
        return False
    shown = changes or []
    run.pending.append(Pending(
        target=target, contact=contact, summary=summary, view=view, reference=reference, changes=shown,
        control=any(c.get("key") == "contact_email" for c in shown), council=council,
    ))
    return True


def hold_for_team(run: Run, submission: Submission, *, summary: str, view: dict[str, Any],
                  changes: list[dict[str, str]]) -> None:
    """Keep a change back for the CIB team to make or refuse (a move to another council)."""
    run.pending.append(Pending(
        target=f"council:{submission.reference}", contact="", summary=summary, view=view,
        reference=submission.reference, changes=changes, council=submission.council_code, by_team=True,
    ))


def change_rows(world: World, submission: Submission, values: dict[str, Value]) -> list[dict[str, str]]:
    """What `values` would change in the submission, field by field, old and new, as the
    person asked to confirm reads them."""
    offer = world.campaign.offer(submission.offer)
    specs = {spec.key: spec for spec in world.campaign.fields_for(offer)}
    rows = []
    for key, value in jsonable(values).items():
        old = submission.fields.get(key)
        if old == value:
            continue
        spec = specs.get(key)
        rows.append({
            "key": key,
            "title": spec.title if spec else key,
            "old": (display(spec, old, world.councils) if spec else str(old or "")) or "(none)",
            "new": (display(spec, value, world.councils) if spec else str(value or "")) or "(none)",
        })
    return rows


def brief(world: World, submission: Submission) -> dict[str, Any]:
    """What anyone may be told of a submission: no officer's name or address."""
    council = world.councils.get(submission.council_code)
    offer = world.campaign.offer(submission.offer)
    return {
        "reference": submission.reference,
        "offer_title": offer.title,
        "offer_short_title": offer.short_title,
        "council": council.name if council else submission.council_code,
        "region": council.region if council else "",
        "status": submission.status,
        "deadline": deadline_view(offer, world.campaign, world.clock()),
        # The shape of a full view, with nothing personal: no rows, no notes.
        "rows": [], "late": False, "verified": True, "capacity": None, "changes": [],
    }


async def find_reference(run: Run, reference: str) -> Submission | list[Nomination] | None:
    """The entry a reference names; a submission is locked for the change (see
    `SubmissionRepository.by_reference`)."""
    submission = await run.tx.submissions.by_reference(reference, lock=True)
    if submission is not None:
        return submission
    return await run.tx.nominations.by_reference(reference) or None


def set_fields(submission: Submission, values: dict[str, Value], now: datetime) -> dict[str, Any]:
    """Apply new values; returns {field: [old, new]} for what changed."""
    changes: dict[str, Any] = {}
    fields = dict(submission.fields)
    for key, value in jsonable(values).items():
        if fields.get(key) != value:
            changes[key] = [fields.get(key), value]
            fields[key] = value
    if changes:
        submission.fields = fields
        submission.contact_name = str(fields.get("contact_name", submission.contact_name))
        submission.contact_email = str(fields.get("contact_email", submission.contact_email))
        if "council" in changes:
            submission.council_code = str(fields["council"])
        submission.updated_at = now
    return changes


def jsonable(values: dict[str, Value] | Any) -> dict[str, Any]:
    return json.loads(json.dumps(dict(values), default=str))


def offer_of(run: Run, key: str) -> Offer | None:
    return next((o for o in run.world.campaign.offers if o.key == key), None)
