"""What of an entry is personal, and the entry with it marked erased: an erasure and the
retention period both leave every entry counted (council, offer, status, decision, place)
with its people taken out. Pure: rows read, column values out (the store writes them)."""
from __future__ import annotations

from typing import Any

from intake.campaign.definition import Campaign
from intake.models import Enquiry, Nomination, Submission
from intake.reports.redaction import ERASED, Identifiers, scrub_json

# Field types that name a person or hold free text; councils and numbers stay.
PERSONAL_TYPES = frozenset({"email"})
KEPT_TYPES = frozenset({"council", "councils", "integer"})


def is_erased(row: Submission | Nomination) -> bool:
    """An entry whose people were taken out (by an erasure or by the retention period)."""
    return (row.contact_name if isinstance(row, Submission) else row.name) == ERASED


def _field_types(campaign: Campaign, offer_key: str) -> dict[str, str]:
    try:
        offer = campaign.offer(offer_key)
    except KeyError:  # an offer the campaign no longer has: every field is treated as text
        return {}
    return {spec.key: spec.type for spec in campaign.fields_for(offer)}


def submission_fields(submission: Submission, campaign: Campaign, who: Identifiers) -> dict[str, Any]:
    """The fields with the contact's own (`contact_*`, addresses) marked erased; other
    text (the areas for peer challenge, say) is the council's, with `who` taken out of it."""
    types = _field_types(campaign, submission.offer)
    fields: dict[str, Any] = {}
    for key, value in (submission.fields or {}).items():
        kind = types.get(key, "text")
        if kind in KEPT_TYPES:
            fields[key] = value
        elif kind in PERSONAL_TYPES or key.startswith("contact"):
            fields[key] = ERASED if value not in ("", None, []) else value
        else:
            fields[key] = scrub_json(value, who)
    return fields


def erased_submission(submission: Submission, campaign: Campaign, who: Identifiers) -> dict[str, Any]:
    """A submission's columns with its contact marked erased."""
    return {
        "contact_name": ERASED, "contact_email": ERASED, "sender": None,
        "fields": submission_fields(submission, campaign, who),
    }


def erased_nomination() -> dict[str, Any]:
    return {"name": ERASED, "email": None, "sender": None}


def erased_enquiry(enquiry: Enquiry) -> dict[str, Any]:
    """A question stays counted; who asked, what and the answer go."""
    return {"sender": None, "text": ERASED, "answer": ERASED if enquiry.answer else enquiry.answer}
