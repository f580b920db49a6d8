"""The workspace as an aiohttp application, mounted at /team/ on the service's HTTP
server (`intake.runtime.composition`), next to the Slack endpoint when there is one."""
from __future__ import annotations

import logging
from pathlib import Path
import aiohttp_jinja2
import jinja2
from aiohttp import web

from workspace import actions, downloads, pages
from workspace import personal_data
from workspace import sign_in as access
from workspace.page_deps import Deps
from intake.team.personal_desk import PersonalDesk
from workspace.view import DEPS, FLASH_COOKIE, render

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)

# What each error page says; any other status gets aiohttp's reason as its title.
ERRORS: dict[int, tuple[str, str]] = {
    400: ("The request could not be read", "Go back, reload the page and try again."),
    403: ("You cannot do that", "Nothing was changed. Go back, reload the page and try again."),
    404: ("Page not found", "If you typed the web address, check it is correct. "
                            "If you pasted it, check you copied all of it."),
    405: ("This address is not a page", "It is where one of the workspace's buttons sends its form. "
                                        "Go back to the page and use the button."),
    413: ("That was too large", "Nothing was changed. Send less, or attach nothing."),
    500: ("Sorry, there is a problem with the workspace", "Nothing you did caused it. Try again in a few minutes."),
}


@web.middleware
async def _error_pages(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """Every error under /team/ is a page in the workspace's layout (its language, a
    title, the way back), never aiohttp's bare text: what the router answers (404, 405),
    what a handler raises, and what nobody expected (500, logged)."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        kept = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else {}
        return _error_page(request, error.status, error.reason, kept)
    except Exception:
        log.exception("the workspace failed on %s %s", request.method, request.path)
        return _error_page(request, 500, "Internal Server Error", {})


def _error_page(request: web.Request, status: int, reason: str, headers: dict[str, str]) -> web.Response:
    title, advice = ERRORS.get(status, (reason, "Go back and try again."))
    response = render(request, "error.html.j2", {"title": title, "advice": advice, "status": status}, status=status)
    response.headers.update(headers)
    return response


@web.middleware
async def _said_once(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """What an action did is shown on the next page, then forgotten."""
    response = await handler(request)
    if request.method == "GET" and FLASH_COOKIE in request.cookies:
        response.del_cookie(FLASH_COOKIE, path="/team/")
    return response


def team_app(deps: Deps, templates_dir: Path, *, personal_desk: PersonalDesk | None = None) -> web.Application:
    app = web.Application(middlewares=[access.headers, _error_pages, access.signed_in, _said_once])
    app[DEPS] = deps
    if personal_desk is not None:
        app[personal_data.PERSONAL] = personal_desk
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(Path(templates_dir) / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app.router.add_get("/", pages.overview)
    app.router.add_get("/sign-in", access.sign_in_form)
    app.router.add_post("/sign-in", access.send_link)
    app.router.add_get("/sign-in/{token}", access.link_page)
    app.router.add_post("/sign-in/{token}", access.use_link)
    app.router.add_post("/sign-out", access.sign_out)
    app.router.add_get("/entries", pages.entries)
    app.router.add_get("/entries/{reference}", pages.entry)
    app.router.add_post("/entries/{reference}/verify", actions.verify)
    app.router.add_post("/entries/{reference}/reject", actions.reject)
    app.router.add_post("/entries/{reference}/decide", actions.decide)
    app.router.add_get("/entries/{reference}/personal-data", personal_data.page)
    app.router.add_post("/personal-data/export", personal_data.export)
    app.router.add_post("/personal-data/erase", personal_data.erase)
    app.router.add_get("/needs", pages.needs)
    app.router.add_post("/enquiries/{id}/answer", actions.answer)
    app.router.add_post("/enquiries/{id}/handled", actions.handled)
    app.router.add_post("/messages/{id}/run-again", actions.run_again)
    app.router.add_post("/messages/{id}/handled", actions.close_message)
    app.router.add_post("/drafts/{id}/close", actions.close_draft)
    app.router.add_post("/entries/{reference}/accept-late", actions.accept_late)
    app.router.add_post("/held/{id}/apply", actions.make_held)
    app.router.add_post("/held/{id}/refuse", actions.refuse_held)
    app.router.add_post("/sends/{id}/again", actions.send_again)
    app.router.add_post("/unreachable", actions.unreachable)
    app.router.add_get("/appendix-a", pages.appendix)
    app.router.add_get("/appendix-a.{fmt}", downloads.appendix)
    app.router.add_get("/decisions.{fmt}", downloads.decisions)
    app.router.add_static("/static/", STATIC)
    return app


def mount(root: web.Application, deps: Deps, templates_dir: Path, *, personal: PersonalDesk | None = None) -> None:
    async def to_workspace(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/team/")

    root.router.add_get("/team", to_workspace)
    root.router.add_get("/", to_workspace)
    root.add_subapp("/team/", team_app(deps, templates_dir, personal_desk=personal))
