"""Every reply and notice is rendered here, from templates/<channel>/<kind>.*.j2.

Email gets a plain-text and an HTML part (HTML autoescaped); Slack gets Block Kit JSON
whose user-supplied values are escaped for mrkdwn so nothing can ping a channel.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from intake.messages import Reply


_BROADCAST = re.compile(r"(?<![\w.@])@(channel|here|everyone)\b", re.IGNORECASE)


def mrkdwn_escape(value: Any) -> str:
    """Slack's three control characters as entities, and a word joiner after the @ of
    @channel, @here and @everyone: nothing a user typed can become a mention, a
    channel-wide ping or a link when it is echoed back, whatever Slack's parsing options."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060\\1", text)


def _json_string(value: Any) -> str:
    # The inside of a JSON string literal, for use between quotes in a .json.j2 template.
    return json.dumps("" if value is None else str(value))[1:-1]


@lru_cache(maxsize=8)
def _environment(templates_dir: Path) -> Environment:
    # One per directory and process: compiled templates are shared by every Renderer.
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["mrkdwn"] = mrkdwn_escape
    env.filters["jsonstr"] = _json_string
    return env


class Renderer:
    def __init__(self, templates_dir: Path) -> None:
        self.env = _environment(Path(templates_dir).resolve())
        self._known: set[str] | None = None

    def preload(self) -> None:
        """Compile every template now, so the first reply after start is not the slow one."""
        for name in self._names:
            self.env.get_template(name)

    def render(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(**context)

    def has(self, name: str) -> bool:
        return name in self._names

    @property
    def _names(self) -> set[str]:
        if self._known is None:
            self._known = set(self.env.list_templates())
        return self._known

    def render_email(self, reply: Reply) -> tuple[str, str]:
        """(plain text, HTML) for an email reply."""
        text = self.render(f"email/{reply.kind}.txt.j2", reply.context)
        # A kind without its own HTML layout shows its text in the common one.
        name = f"email/{reply.kind}.html.j2"
        html = self.render(name if self.has(name) else "email/_layout.html.j2", {**reply.context, "text_body": text})
        return text, html

    def email_subject(self, reply: Reply) -> str:
        return self.render("email/subject.txt.j2", {"kind": reply.kind, **reply.context}).strip()

    def render_slack(self, reply: Reply) -> dict[str, Any]:
        """{"text": ..., "blocks": [...]} for chat.postMessage."""
        return json.loads(self.render(f"slack/{reply.kind}.json.j2", reply.context))
