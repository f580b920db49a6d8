"""Every reply, notice, reminder and digest is rendered here, from
templates/<channel>/<kind>.*.j2: the template names are made in this module only.

Email gets a plain-text and an HTML part (HTML autoescaped); Slack gets Block Kit JSON.
Escaping for a channel's markup is that channel's: it hands its filters in (the Slack
channel's `mrkdwn`, see `bot/mrkdwn.py`) when the composition root builds the renderer.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

Filter = Callable[[Any], str]


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
    env.filters["jsonstr"] = _json_string
    return env


class Renderer:
    def __init__(self, templates_dir: Path, *, filters: Mapping[str, Filter] | None = None) -> None:
        self.env = _environment(Path(templates_dir).resolve())
        self.env.filters.update(filters or {})
        self._known: set[str] | None = None

    def preload(self) -> None:
        """Compile every template now, so the first reply after start is not the slow one."""
        for name in self._names:
            self.env.get_template(name)

    def render(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(**context)

    def has(self, name: str) -> bool:
        return name in self._names

    def names(self) -> list[str]:
        """Every template's name: the folder holds Python's files too (it is installed as a
        package), which are not templates."""
        return self.env.list_templates(extensions=["j2"])

    @property
    def _names(self) -> set[str]:
        if self._known is None:
            self._known = set(self.names())
        return self._known

    def email(self, kind: str, context: dict[str, Any]) -> tuple[str, str]:
        """(plain text, HTML) for an email of this kind (a reply, a reminder, a digest)."""
        text = self.render(f"email/{kind}.txt.j2", context)
        # A kind without its own HTML layout shows its text in the common one.
        name = f"email/{kind}.html.j2"
        html = self.render(name if self.has(name) else "email/_layout.html.j2", {**context, "text_body": text})
        return text, html

    def email_subject(self, kind: str, context: dict[str, Any]) -> str:
        """The subject: the kind's own template, else the common one for replies."""
        name = f"email/{kind}.subject.txt.j2"
        if self.has(name):
            return " ".join(self.render(name, context).split())
        return self.render("email/subject.txt.j2", {"kind": kind, **context}).strip()

    def slack(self, kind: str, context: dict[str, Any]) -> dict[str, Any]:
        """{"text": ..., "blocks": [...]} for chat.postMessage (a reply, a message, a modal)."""
        return json.loads(self.render(f"slack/{kind}.json.j2", context))
