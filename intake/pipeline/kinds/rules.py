"""Rules the kinds share: who may change a submission, finding a reference, applying
new values to a submission."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from intake.campaign import Offer
from intake.councils import Council
from intake.models import Nomination, Submission
from intake.parsing import Value
from intake.pipeline.run import Run


def may_change(run: Run, council: Council, submission: Submission | None) -> bool:
    """The team, the address that sent the submission, or an address of the council."""
    if run.admin:
        return True
    if submission is not None and run.sender and submission.sender == run.sender:
        return True
    return run.world.councils.owns_address(council, run.sender)


def may_change_submission(run: Run, submission: Submission) -> bool:
    council = run.world.councils.get(submission.council_code)
    return council is not None and may_change(run, council, submission)


async def find_reference(run: Run, reference: str) -> Submission | list[Nomination] | None:
    submission = await run.tx.submissions.by_reference(reference)
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
