"""Rendering a page: the template's own context over what every page shows (who is
signed in, the CSRF token for its forms, what the last action did)."""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import aiohttp_jinja2
from aiohttp import web

from workspace.deps import Deps
from intake.models import TeamSession

DEPS: web.AppKey[Deps] = web.AppKey("deps", Deps)
SESSION: web.RequestKey[TeamSession] = web.RequestKey("team_session", TeamSession)  # the signed-in member
FORM_TOKEN: web.RequestKey[str] = web.RequestKey("form_token", str)  # the sign-in forms' CSRF token
FLASH_COOKIE = "cib_team_said"


def render(request: web.Request, name: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template(name, request, {**common(request), **context}, status=status)


def common(request: web.Request) -> dict[str, Any]:
    deps = request.app[DEPS]
    session = request.get(SESSION)
    said = unquote(request.cookies.get(FLASH_COOKIE, "")) if session else ""
    kind, _, text = said.partition(":")
    return {
        "user": session.email if session else None,
        "csrf": session.csrf if session else request.get(FORM_TOKEN, ""),
        "team_name": deps.service.campaign.campaign.team_name,
        "campaign_name": deps.service.campaign.campaign.name,
        "said": {"ok": kind == "ok", "text": text} if text else None,
    }
