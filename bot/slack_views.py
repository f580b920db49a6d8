"""Block Kit from templates/slack/: replies (`<kind>.json.j2`, through the core's
Renderer), modals and the bot's own notes.

Templates put every interpolated value through `|tojson` (and user-supplied text through
`|mrkdwn` first), so a value can neither break the JSON nor turn into a mention or a link.
Here each block is also held to Slack's limits (`bot/fitting.py`: a long section becomes
several); the posting side splits a message of more than 50 blocks into several posts.
"""
from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from jinja2 import TemplateNotFound

from bot.fitting import fit_message
from bot.mrkdwn import FILTERS
from intake.messages import Reply
from intake.render import Renderer

log = logging.getLogger(__name__)

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
        for name in (n for n in self.renderer.names() if n.startswith("slack/")):
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
