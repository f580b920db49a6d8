"""Block Kit as Slack checks it: every block parsed and validated with `slack_sdk.models`,
and the limits those models do not check (a select's options, an option's text, a
button's text, an element nested in an actions or input block, a modal's title and
private_metadata). The Web API stand-in answers `invalid_blocks` with these problems, as
Slack does, so every test that posts is a test of the limits too."""
from __future__ import annotations

import json
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _text_of(node: Any) -> str:
    return node.get("text", "") if isinstance(node, dict) else str(node or "")


def _element_problems(element: dict[str, Any], where: str) -> list[str]:
    found = []
    kind = element.get("type")
    if kind == "button" and len(_text_of(element.get("text"))) > 75:
        found.append(f"{where}: button text over 75 characters")
    options = element.get("options") or []
    for group in element.get("option_groups") or []:
        options = [*options, *(group.get("options") or [])]
    if kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"):
        limit = {"overflow": 5, "radio_buttons": 10, "checkboxes": 10}.get(kind, 100)
        if len(options) > limit:
            found.append(f"{where}: {len(options)} options, more than {limit}")
    for option in options:
        if len(_text_of(option.get("text"))) > 75:
            found.append(f"{where}: option text over 75 characters")
        if len(str(option.get("value", ""))) > 150:
            found.append(f"{where}: option value over 150 characters")
    return found


def block_problems(blocks: list[dict[str, Any]], *, limit: int) -> list[str]:
    found = []
    if len(blocks) > limit:
        found.append(f"{len(blocks)} blocks, more than {limit}")
    for n, raw in enumerate(blocks):
        where = f"block {n} ({raw.get('type')})"
        block = Block.parse(raw)
        if block is None:
            found.append(f"{where}: not a block Slack knows")
            continue
        try:
            block.validate_json()
        except SlackObjectFormationError as error:
            found.append(f"{where}: {error}")
        if raw.get("type") == "context" and len(raw.get("elements") or []) > 10:
            found.append(f"{where}: more than 10 elements")
        if raw.get("type") == "section":
            if len(raw.get("fields") or []) > 10:
                found.append(f"{where}: more than 10 fields")
            for item in raw.get("fields") or []:
                if len(_text_of(item)) > 2000:
                    found.append(f"{where}: a field over 2000 characters")
        elements = list(raw.get("elements") or []) if raw.get("type") == "actions" else []
        for key in ("accessory", "element"):
            if isinstance(raw.get(key), dict):
                elements.append(raw[key])
        for element in elements:
            found.extend(_element_problems(element, where))
    return found


def message_problems(args: dict[str, Any]) -> list[str]:
    """What Slack would refuse in a chat.postMessage / postEphemeral / update."""
    blocks = _loaded(args.get("blocks")) or []
    found = block_problems(blocks, limit=MAX_MESSAGE_BLOCKS)
    if len(str(args.get("text") or "")) > MAX_TEXT:
        found.append("text over 40,000 characters")
    return found


def view_problems(args: dict[str, Any]) -> list[str]:
    """What Slack would refuse in views.open / views.update."""
    view = _loaded(args.get("view")) or {}
    found = block_problems(view.get("blocks") or [], limit=MAX_VIEW_BLOCKS)
    try:
        View(**{k: v for k, v in view.items() if k in ("type", "title", "blocks", "close", "submit",
                                                         "private_metadata", "callback_id")}).validate_json()
    except (SlackObjectFormationError, TypeError) as error:
        found.append(f"view: {error}")
    if len(str(view.get("private_metadata") or "")) > 3000:
        found.append("view: private_metadata over 3000 characters")
    return found
