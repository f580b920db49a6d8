"""Block Kit from templates/slack/: replies (`<kind>.json.j2`, through the core's
Renderer), modals and the bot's own notes.

Templates put every interpolated value through `|tojson` (and user-supplied text through
`|mrkdwn` first), so a value can neither break the JSON nor turn into a mention or a link.
Here the result is also held to Slack's limits (50 blocks, 3000 characters a section), so
a long answer is shortened rather than refused by the API.
"""
from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from jinja2 import TemplateNotFound

from bot.text import FILTERS
from intake.messages import Reply
from intake.render import Renderer

log = logging.getLogger(__name__)

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_TEXT = 3900  # a message's top-level text (Slack truncates beyond 40,000; keep it readable)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _verbatim(node: Any) -> None:
    """Every mrkdwn text object verbatim: Slack then turns no bare URL, #channel or
    @mention into a link or a ping; only our explicit `<@U…>` markup is parsed."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            node["verbatim"] = True
        for value in node.values():
            _verbatim(value)
    elif isinstance(node, list):
        for value in node:
            _verbatim(value)


def _fit_block(block: dict[str, Any]) -> dict[str, Any]:
    _verbatim(block)
    text = block.get("text")
    if isinstance(text, dict) and isinstance(text.get("text"), str):
        limit = 150 if block.get("type") == "header" else MAX_SECTION_TEXT
        text["text"] = _clip(text["text"], limit)
    for item in block.get("fields") or []:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            item["text"] = _clip(item["text"], 2000)
    return block


def fit_message(message: dict[str, Any]) -> dict[str, Any]:
    """Hold a rendered message to Slack's limits."""
    blocks = [_fit_block(b) for b in message.get("blocks") or [] if isinstance(b, dict)]
    if len(blocks) > MAX_BLOCKS:
        more = len(blocks) - (MAX_BLOCKS - 1)
        blocks = blocks[: MAX_BLOCKS - 1] + [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more (shortened)."}]}
        ]
    text = _clip(str(message.get("text") or ""), MAX_TEXT)
    out: dict[str, Any] = {"text": text}
    if blocks:
        out["blocks"] = blocks
    return out


class SlackViews:
    def __init__(self, renderer: Renderer | None = None, *, templates_dir: Path | None = None) -> None:
        if renderer is None:
            if templates_dir is None:
                raise ValueError("SlackViews needs a renderer or a templates directory")
            renderer = Renderer(templates_dir, filters=FILTERS)
        self.renderer = renderer
        self._static: dict[str, dict[str, Any]] = {}

    def warm(self) -> None:
        """Compile every Slack template now, not on the first request that needs it (a
        compile takes the event loop for milliseconds that the acks behind it would wait)."""
        for name in self.renderer.env.list_templates(filter_func=lambda n: n.startswith("slack/")):
            self.renderer.env.get_template(name)

    def render(self, name: str, context: dict[str, Any]) -> dict[str, Any]:
        return self.renderer.slack(name, context)

    def message(self, name: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
        if not context:
            # Messages without a context never change: rendered once (some are acks).
            cached = self._static.get(name)
            if cached is None:
                cached = self._static[name] = fit_message(self.render(name, {}))
            return copy.deepcopy(cached)
        return fit_message(self.render(name, context))

    def reply(self, reply: Reply) -> dict[str, Any]:
        """A core reply as a message. A kind without a Slack template (or a template that
        fails) still gets a plain answer, so the user is never left without one."""
        try:
            return fit_message(self.renderer.slack(reply.kind, reply.context))
        except TemplateNotFound:
            log.error("no Slack template for reply kind %r", reply.kind)
        except Exception:
            log.exception("rendering the Slack reply %r failed", reply.kind)
        return fit_message(self.render("fallback", {"kind": reply.kind, **reply.context}))

    def modal(self, name: str, context: dict[str, Any]) -> dict[str, Any]:
        return self.render(name, context)
