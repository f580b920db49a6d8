"""Slack modal values as drafts: a submitted offer form or nomination form, keyed by field
key, read with the same value rules as a message.

The modal's values arrive already split by field, so no label lines are read: this is the
counterpart of parse_message for forms.
"""
from __future__ import annotations

from collections.abc import Mapping

from intake.campaign.definition import Campaign
from intake.campaign.register import CouncilRegister
from intake.parsing.drafts import FieldError, NominationDraft, SubmissionDraft
from intake.parsing.nominations import check_people, person_from, region_missing, set_region
from intake.parsing.offers import offer_or_none
from intake.parsing.values import store_value


def parse_form(
    offer: str, values: Mapping[str, str], *, campaign: Campaign, councils: CouncilRegister
) -> SubmissionDraft:
    """Slack modal values keyed by field key ("" = left empty) -> a draft, with the same
    value rules as email."""
    draft = SubmissionDraft(offer)
    target = offer_or_none(campaign, offer)
    if target is None:
        draft.errors.append(FieldError("offer", f"We do not know the offer {offer!r}."))
        return draft
    for spec in campaign.fields_for(target):
        raw = (values.get(spec.key) or "").strip()
        if raw:
            store_value(draft, spec, raw, councils)
    return draft


def parse_nomination_form(
    values: Mapping[str, str], *, campaign: Campaign, councils: CouncilRegister
) -> NominationDraft:
    """Slack modal values: "region", "<role>.name", "<role>.council", "<role>.email"."""
    draft = NominationDraft()
    set_region(draft, (values.get("region") or "").strip())
    if not (values.get("region") or "").strip():
        draft.errors.append(region_missing())
    for role in campaign.nomination.roles:
        parts = {part: (values.get(f"{role.key}.{part}") or "").strip() for part in ("name", "council", "email")}
        if any(parts.values()):
            draft.people.append(person_from(role.key, parts, councils, draft.errors))
    check_people(draft, campaign)
    return draft
