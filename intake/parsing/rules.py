"""Rules applied to drafts after parsing: the required fields still missing, a nomination
that names nobody, and what the sender's address fills in.

Pure functions of the campaign and the values. The service applies them to the drafts from
parse_message and the forms; bot.modal_forms checks a nomination modal with name_at_least_one
before the modal closes.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from intake.campaign.definition import Campaign
from intake.campaign.register import CouncilRegister
from intake.parsing.drafts import FieldError, Value
from intake.parsing.offers import offer_or_none
from intake.parsing.values import email_in, is_empty


def missing_required(campaign: Campaign, offer: str, values: Mapping[str, Value]) -> list[FieldError]:
    """The required fields of `offer` that `values` does not give."""
    target = offer_or_none(campaign, offer)
    if target is None:
        return [FieldError("offer", "Which offer is this expression of interest for?")]
    return [
        FieldError(spec.key, enter(spec.title))
        for spec in campaign.fields_for(target)
        if spec.required and is_empty(values.get(spec.key))
    ]


def enter(title: str) -> str:
    """A missing field's message as GOV.UK words them: "Enter the contact name"."""
    return f"Enter the {title[:1].lower()}{title[1:]}"


def apply_defaults(
    campaign: Campaign,
    offer: str,
    values: Mapping[str, Value],
    *,
    sender: str | None,
    councils: CouncilRegister,
) -> dict[str, Value]:
    """Fill what the sender's address tells us (their email; their council, from its
    domain) where nothing was given. Given values always win."""
    result = dict(values)
    target = offer_or_none(campaign, offer)
    address = email_in(sender or "")
    if target is None or address is None:
        return result
    council = councils.by_email(address)
    for spec in campaign.fields_for(target):
        if not is_empty(result.get(spec.key)):
            continue
        if spec.default_from_sender and spec.type == "email":
            result[spec.key] = address
        elif spec.type == "council" and council is not None:
            result[spec.key] = council.code
    return result


def name_at_least_one(campaign: Campaign, roles: Iterable[str]) -> list[FieldError]:
    """A nomination must name someone. `roles` are the keys of the roles given (a person
    drafted, or a role's name, council or email filled in): [] when one is a campaign
    role, else the one error "Name at least one of: <role titles>" on the field "roles"."""
    known = {role.key for role in campaign.nomination.roles}
    if any(role in known for role in roles):
        return []
    titles = ", ".join(role.title for role in campaign.nomination.roles)
    return [FieldError("roles", "Name at least one of: " + titles)]
