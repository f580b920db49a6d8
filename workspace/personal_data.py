"""A person's data from the workspace, starting from one of their entries: the people the
entry names (its contact, its sender, its nominees), what is held about each, a
subject-access export to download and an erasure with its reason. Both are POST forms
with the session's CSRF token (checked by `workspace.sign_in.signed_in`), run as the
signed-in member (so the audit trail names them), through `intake.team.personal_desk`."""
from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from intake.messages import storable
from intake.team import board
from intake.team.personal_desk import PersonalDesk, address_of
from workspace.actions import _actor, _back, _text
from workspace.view import DEPS, render

PERSONAL: web.AppKey[PersonalDesk] = web.AppKey("personal", PersonalDesk)
REASON_MISSING = "Say why this person's data is being erased: the audit trail records the reason."


async def people_of(request: web.Request, reference: str) -> list[str] | None:
    """The addresses an entry names, each once; None when there is no such entry."""
    view = await board.entry(request.app[DEPS].service, reference)
    if view is None:
        return None
    found: list[str] = []
    for record in view.records:
        for key in ("contact_email", "email", "sender"):
            address = address_of(str(record.get(key) or ""))
            if address and address not in found:  # an erased entry names no one
                found.append(address)
    return found


def _desk(request: web.Request) -> PersonalDesk:
    if PERSONAL not in request.app:
        raise web.HTTPNotFound()
    return request.app[PERSONAL]


async def page(request: web.Request) -> web.StreamResponse:
    return await personal_page(request, storable(request.match_info["reference"]) or "")


async def personal_page(request: web.Request, reference: str, *, errors: dict[str, str] | None = None,
                        typed: dict[str, str] | None = None, status: int = 200) -> web.StreamResponse:
    """Each person the entry names, with what is held about them and the two actions."""
    desk = _desk(request)
    reference = reference.strip().upper()
    people = await people_of(request, reference)
    if people is None:
        return render(request, "not_found.html.j2", {"title": "Not found", "reference": reference[:40]}, status=404)
    shown = [{"n": n, "address": address, "held": await desk.find(address)} for n, address in enumerate(people, 1)]
    return render(request, "personal_data.html.j2", {
        "title": f"Personal data on {reference}", "page": "entries", "reference": reference, "people": shown,
        "errors": errors or {}, "typed": typed or {},
    }, status=status)


async def _chosen(request: web.Request) -> tuple[str, str, int]:
    """The entry and the person the form is about (one the entry names), and their number on the page."""
    form = await request.post()
    reference = _text(form, "reference").strip().upper()
    address = address_of(_text(form, "address")) or ""
    people = await people_of(request, reference) if reference else None
    if not people or address not in people:
        raise web.HTTPNotFound()
    return reference, address, people.index(address) + 1


async def export(request: web.Request) -> web.StreamResponse:
    desk = _desk(request)
    reference, address, _ = await _chosen(request)
    _, content = await desk.export(address, actor=_actor(request))
    return web.Response(body=content, headers={
        "Content-Type": "application/zip",
        "Content-Disposition": f'attachment; filename="personal-data-{quote(reference)}.zip"',
    })


async def erase(request: web.Request) -> web.StreamResponse:
    desk = _desk(request)
    reference, address, n = await _chosen(request)
    reason = _text(await request.post(), "reason")
    if not reason.strip():  # the field's fault: the page again, the field marked (GOV.UK's error summary)
        return await personal_page(request, reference, errors={f"reason-{n}": REASON_MISSING}, status=400)
    done = await desk.erase(address, actor=_actor(request), reason=reason)
    raise _back(request, done, f"/team/entries/{quote(reference)}")  # type: ignore[arg-type]
