"""Modals, both ways: the campaign's fields as a modal's context (rendered by
templates/slack/modal_*.json.j2), a submitted modal's state as a `FormInput`, and the
core's field errors as Slack's inline `response_action: errors`.

Every input block's `block_id` is the field key the core uses ("centres", "council",
"lead-dcs.email"), and every element's `action_id` is "value", so the mapping both ways
is the identity and needs no table.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from intake.campaign.definition import Campaign, FieldSpec
from intake.campaign.register import REGIONS, Council, CouncilRegister
from intake.messages import FormInput
from intake.parsing import name_at_least_one

OFFER_CALLBACK = "cib_offer_form"
NOMINATION_CALLBACK = "cib_nomination_form"
ACTION = "value"
# Slack's limits: option text 75 characters, options per external select answer 100.
OPTION_TEXT_MAX = 75
MAX_OPTIONS = 100


@dataclass(frozen=True)
class Prefill:
    """What we know about the person opening the modal (from their Slack profile)."""

    email: str | None = None
    name: str | None = None
    council: Council | None = None


def option(text: str, value: str) -> dict[str, Any]:
    if len(text) > OPTION_TEXT_MAX:
        text = text[: OPTION_TEXT_MAX - 1] + "…"
    return {"text": {"type": "plain_text", "text": text, "emoji": False}, "value": value}


def council_options(councils: CouncilRegister, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Options for the council type-ahead (an external select), best match first."""
    return [option(council.name, council.code) for council in councils.search(query, limit=min(limit, MAX_OPTIONS))]


def _field_view(spec: FieldSpec, *, common: bool, prefill: Prefill) -> dict[str, Any]:
    initial: str | None = None
    initial_option: dict[str, Any] | None = None
    if spec.type == "council" and prefill.council is not None:
        initial_option = option(prefill.council.name, prefill.council.code)
    elif spec.type == "email" and spec.default_from_sender and prefill.email:
        initial = prefill.email
    elif spec.key == "contact_name" and prefill.name:
        initial = prefill.name
    return {
        "key": spec.key,
        "title": spec.title,
        "type": spec.type,
        "required": spec.required,
        # The offer's own questions get room to write; name, role and so on do not.
        "multiline": spec.type == "text" and not common,
        "minimum": spec.minimum,
        "initial": initial,
        "initial_option": initial_option,
    }


def offer_modal_context(
    campaign: Campaign,
    offer_key: str,
    *,
    prefill: Prefill,
    deadline: str,
    metadata: Mapping[str, Any],
) -> dict[str, Any]:
    offer = campaign.offer(offer_key)
    common = {spec.key for spec in campaign.common_fields}
    return {
        "callback_id": OFFER_CALLBACK,
        "private_metadata": json.dumps({"kind": "offer", "offer": offer.key, **metadata}),
        "offer": {
            "key": offer.key,
            "title": offer.title,
            "short_title": offer.short_title,
            "description": offer.description,
            "responder": offer.responder,
            "capacity": offer.capacity,
            "deadline": deadline,
        },
        "fields": [
            _field_view(spec, common=spec.key in common, prefill=prefill)
            for spec in campaign.fields_for(offer)
        ],
    }


def nomination_modal_context(
    campaign: Campaign,
    *,
    prefill: Prefill,
    deadline: str,
    metadata: Mapping[str, Any],
) -> dict[str, Any]:
    nomination = campaign.nomination
    region = prefill.council.region if prefill.council else None
    return {
        "callback_id": NOMINATION_CALLBACK,
        "private_metadata": json.dumps({"kind": "nomination", "offer": nomination.key, **metadata}),
        "nomination": {
            "key": nomination.key,
            "title": nomination.title,
            "short_title": nomination.short_title,
            "description": nomination.description,
            "deadline": deadline,
        },
        "regions": [option(name, name) for name in REGIONS],
        "initial_region": option(region, region) if region else None,
        "roles": [{"key": role.key, "title": role.title} for role in nomination.roles],
    }


# --- submitted modals --------------------------------------------------------------------


def _element_value(element: Mapping[str, Any]) -> str:
    # Read as Slack sends it; anything else in its place counts as nothing chosen.
    kind = str(element.get("type") or "")
    if "selected_options" in element or kind.startswith("multi_"):
        chosen = element.get("selected_options")
        options = chosen if isinstance(chosen, list) else []
        return ", ".join(str(o.get("value", "")) for o in options if isinstance(o, Mapping))
    if "selected_option" in element or kind.endswith("_select"):
        selected = element.get("selected_option")
        return str(selected.get("value") or "") if isinstance(selected, Mapping) else ""
    value = element.get("value")
    return "" if value is None else str(value).strip()


def state_values(view: Mapping[str, Any]) -> dict[str, str]:
    """block_id -> the value entered ("" when empty); selects give their option value."""
    values: dict[str, str] = {}
    state = (view.get("state") or {}).get("values") or {}
    for block_id, actions in state.items():
        if not isinstance(actions, Mapping):
            continue
        element = actions.get(ACTION) or next(iter(actions.values()), None)
        if isinstance(element, Mapping):
            values[block_id] = _element_value(element)
    return values


def metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def form_input(view: Mapping[str, Any], campaign: Campaign) -> FormInput | None:
    """The core's `FormInput` for one of our submitted modals (None for anyone else's)."""
    meta = metadata(view)
    values = state_values(view)
    if view.get("callback_id") == NOMINATION_CALLBACK:
        keys = ["region"] + [
            f"{role.key}.{part}" for role in campaign.nomination.roles for part in ("name", "council", "email")
        ]
        return FormInput(kind="nomination", values={key: values.get(key, "") for key in keys})
    if view.get("callback_id") == OFFER_CALLBACK:
        offer_key = meta.get("offer")
        try:
            offer = campaign.offer(str(offer_key))
        except KeyError:
            return None
        keys = [spec.key for spec in campaign.fields_for(offer)]
        return FormInput(kind="offer", offer=offer.key, values={key: values.get(key, "") for key in keys})
    return None


def input_block_ids(view: Mapping[str, Any]) -> list[str]:
    return [
        str(block["block_id"])
        for block in view.get("blocks") or []
        if isinstance(block, Mapping) and block.get("type") == "input" and block.get("block_id")
    ]


def inline_errors(problems: Mapping[str, str], block_ids: list[str]) -> dict[str, str]:
    """The core's field errors keyed by the block that shows them. A field with no block of
    its own ("roles", "lead-dcs") is shown on its first block, anything else on the first
    input, so every problem lands on a field and none becomes a generic failure."""
    errors: dict[str, str] = {}
    if not block_ids:
        return errors
    for field_key, message in problems.items():
        if field_key in block_ids:
            target = field_key
        else:
            target = next((b for b in block_ids if b.startswith(field_key + ".")), None)
            if target is None and field_key == "roles":
                target = next((b for b in block_ids if b.endswith(".name")), None)
            target = target or block_ids[0]
        errors[target] = f"{errors[target]} {message}" if target in errors else message
    return errors


def nobody_named(form: FormInput, campaign: Campaign) -> dict[str, str]:
    """A nomination modal sent with no role filled in. The core answers that with "name at
    least one" after the fact; in a modal it belongs on the form, before it closes."""
    if form.kind != "nomination":
        return {}
    given = [
        role.key for role in campaign.nomination.roles
        if any(form.values.get(f"{role.key}.{part}") for part in ("name", "council", "email"))
    ]
    return {error.field: error.message for error in name_at_least_one(campaign, given)}

