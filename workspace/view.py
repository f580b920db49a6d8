"""Rendering a page: the template's own context over what every page shows (who is
signed in, the CSRF token for its forms, what the last action did)."""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import aiohttp_jinja2
from aiohttp import web

from workspace.page_deps import Deps
from intake.models import TeamSession

DEPS: web.AppKey[Deps] = web.AppKey("deps", Deps)
SESSION: web.RequestKey[TeamSession] = web.RequestKey("team_session", TeamSession)  # the signed-in member
FORM_TOKEN: web.RequestKey[str] = web.RequestKey("form_token", str)  # the sign-in forms' CSRF token
FLASH_COOKIE = "cib_team_said"
# The sections of "Needs a person" an action can lead back to, named for the banner's link.
SECTIONS = {
    "unverified": "the unverified entries", "enquiries": "the questions", "stuck": "the messages that could not be processed",
    "drafts": "the incomplete drafts", "late": "the late entries", "failed": "the replies not delivered",
    "bounces": "the bounces of our mail",
}


def render(request: web.Request, name: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template(name, request, {**common(request), **context}, status=status)


def common(request: web.Request) -> dict[str, Any]:
    deps = request.app[DEPS]
    session = request.get(SESSION)
    # What the last action did, on the page it led to (a GET); a form shown again with its
    # errors says those instead.
    said = unquote(request.cookies.get(FLASH_COOKIE, "")) if session and request.method == "GET" else ""
    kind, _, rest = said.partition(":")
    section, _, text = rest.partition(":")
    return {
        "user": session.email if session else None,
        "csrf": session.csrf if session else request.get(FORM_TOKEN, ""),
        "team_name": deps.service.campaign.campaign.team_name,
        "campaign_name": deps.service.campaign.campaign.name,
        "said": {"ok": kind == "ok", "text": text, "section": section, "place": SECTIONS.get(section)} if text else None,
        "errors": {},  # field id -> what is wrong with it (GOV.UK's error summary and inline messages)
        "typed": {},  # what was typed into a form shown again
    }
