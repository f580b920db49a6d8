"""The workspace's pages: the overview, the entries and one entry, what needs a person,
Appendix A. Each reads through `intake.team.board` and renders a template."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from intake.campaign.register import REGIONS
from intake.reports.appendix_a import appendix_a
from intake.messages import storable
from intake.team import board
from workspace.message_view import shown
from workspace.pagination import Pagination, page_number, paginate
from workspace.view import DEPS, render


async def overview(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS]
    facts = await board.overview(deps.service, deps.clock())
    return render(request, "overview.html.j2", {**facts, "title": "Overview", "page": "overview"})


async def entries(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS]
    chosen = {key: request.query.get(key, "") for key in board.FILTERS}
    rows = await board.entries(deps.service)
    context = entries_context(rows, chosen, page_number(request.query.get("page")), deps.service.campaign.offers)
    return render(request, "entries.html.j2", context)


def entries_context(rows: list[dict[str, Any]], chosen: dict[str, str], page: int, offers: Any) -> dict[str, Any]:
    """The list's page `page` of the rows the filters `chosen` keep."""
    found = board.matching(rows, chosen)
    shown, pagination = paginate(found, page, path="/team/entries", query=chosen)
    return {
        "title": "Submissions and nominations", "page": "entries", "rows": shown, "found": len(found),
        "pagination": pagination, "total": len(rows), "chosen": chosen, "offers": offers, "regions": REGIONS,
    }


async def entry(request: web.Request) -> web.StreamResponse:
    return await entry_page(request, storable(request.match_info["reference"]) or "")  # PostgreSQL refuses a NUL


async def entry_page(request: web.Request, reference: str, *, errors: dict[str, str] | None = None,
                     typed: dict[str, str] | None = None, status: int = 200) -> web.StreamResponse:
    """An entry's page; an action refused for what was typed shows it again with `errors`
    (field id -> message) and what was `typed`, as GOV.UK's forms do."""
    deps = request.app[DEPS]
    view = await board.entry(deps.service, reference)
    if view is None:
        context = {"title": "Not found", "reference": reference[:40]}
        return render(request, "not_found.html.j2", context, status=404)
    offer = deps.service.campaign.offer(view.records[0]["offer"]) if view.kind == "submission" else None
    return render(request, "entry.html.j2", {
        "title": view.reference, "page": "entries", "view": view, "record": view.records[0],
        "messages": [shown(row, deps.service) for row in view.messages], "offer": offer, "when": deps.service.when,
        "errors": errors or {}, "typed": typed or {},
    }, status=status)


async def needs(request: web.Request) -> web.StreamResponse:
    return await needs_page(request)


async def needs_page(request: web.Request, *, errors: dict[str, str] | None = None,
                     status: int = 200) -> web.StreamResponse:
    deps = request.app[DEPS]
    waiting = await board.needs(deps.service, deps.clock())
    listed, pages = needs_sections(waiting, request.query, whole=bool(errors))
    return render(request, "needs.html.j2", {
        "title": "Needs a person", "page": "needs", "needs": waiting, "listed": listed, "pages": pages,
        "offers": deps.service.campaign.offers,
        "councils": sorted(deps.service.councils.councils, key=lambda c: c.name), "errors": errors or {},
    }, status=status)


NEEDS_PER_PAGE = 25  # rows of each list on "Needs a person" at a time: the page stays light


def needs_sections(
    waiting: dict[str, list[dict[str, Any]]], query: Mapping[str, str], *, whole: bool = False,
) -> tuple[dict[str, Sequence[dict[str, Any]]], dict[str, Pagination]]:
    """Each list's rows on this page, and its pages (`unverified-page=2`, and so on). With
    an error to show, every list whole, so the field it names is on the page."""
    listed: dict[str, Sequence[dict[str, Any]]] = {}
    pages: dict[str, Pagination] = {}
    for key, rows in waiting.items():
        param = f"{key}-page"
        per_page = max(len(rows), 1) if whole else NEEDS_PER_PAGE
        listed[key], pages[key] = paginate(rows, page_number(query.get(param)), path="/team/needs", query=query,
                                          per_page=per_page, param=param, anchor=key)
    return listed, pages


async def appendix(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS]
    rows = await appendix_a(deps.service)
    return render(request, "appendix.html.j2", {"title": "Appendix A: regional leads", "page": "appendix", "rows": rows})
