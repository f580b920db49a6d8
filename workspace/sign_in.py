"""Who may see the workspace: a team address signs in with a one-time link sent to it by
email; the browser then holds a session cookie. Tokens are random; only their SHA-256 is
stored. Every POST carries a CSRF token: the session's own, or (before signing in) one
that matches a cookie set with the form."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from email.errors import HeaderParseError
from email.headerregistry import Address
from urllib.parse import quote

from aiohttp import web

from intake.messages import Post
from intake.models import TeamSession
from workspace.page_deps import Deps
from workspace.sign_in_limits import client_of
from workspace.view import DEPS, FLASH_COOKIE, FORM_TOKEN, SESSION, render

log = logging.getLogger(__name__)

SESSION_COOKIE = "cib_team_session"
FORM_COOKIE = "cib_team_form"  # the double-submit CSRF cookie of the sign-in forms
PUBLIC = ("/team/sign-in", "/team/static/")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def address_of(text: str) -> str | None:
    """The address typed into the form, parsed strictly; None when it is not one."""
    text = text.strip()
    if not text or len(text) > 320 or any(c in text for c in "\r\n<>,;\"() "):
        return None
    try:
        address = Address(addr_spec=text)
    except (ValueError, IndexError, HeaderParseError):  # "bob@example.org." and the like
        return None
    return address.addr_spec.lower() if address.domain and address.username else None


@web.middleware
async def signed_in(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    """Pages other than sign-in need a live session; POSTs need its CSRF token."""
    deps = request.app[DEPS]
    path = request.path
    if not path.startswith(PUBLIC):
        token = request.cookies.get(SESSION_COOKIE, "")
        session = None
        if token:
            async with deps.service.store.reader() as unit:
                session = await unit.access.live_session(digest(token), deps.clock())
        if session is None or session.email not in deps.team_emails:
            if request.method != "GET":
                raise web.HTTPSeeOther("/team/sign-in")
            target = request.path_qs if request.path != "/team/" else ""
            raise web.HTTPSeeOther("/team/sign-in" + (f"?next={quote(target, safe='')}" if target else ""))
        request[SESSION] = session
        if request.method == "POST":
            form = await request.post()
            if not same_token(form.get("csrf", ""), session.csrf):
                return refused(request)
    response = await handler(request)
    return response


@web.middleware
async def headers(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # sign-in links never leak onward
    response.headers.setdefault("X-Frame-Options", "DENY")
    if not request.path.startswith("/team/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


def refused(request: web.Request) -> web.Response:
    return render(request, "refused.html.j2", {"title": "This form has expired"}, status=403)


def form_token(request: web.Request) -> str:
    """The sign-in forms' CSRF token: the cookie's, or a new one set with the response."""
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    request[FORM_TOKEN] = token
    return token


def with_form_cookie(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    deps = request.app[DEPS]
    if FORM_TOKEN in request and request.cookies.get(FORM_COOKIE) != request[FORM_TOKEN]:
        response.set_cookie(FORM_COOKIE, request[FORM_TOKEN], path="/team/", httponly=True,
                            samesite="Lax", secure=deps.secure)
    return response


async def form_checked(request: web.Request) -> bool:
    form = await request.post()
    cookie = request.cookies.get(FORM_COOKIE, "")
    return bool(cookie) and same_token(form.get("csrf", ""), cookie)


def same_token(sent: object, expected: str) -> bool:
    """Compared in constant time, as bytes: compare_digest refuses str that is not ASCII,
    and a form can carry anything (a file, even)."""
    if not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def safe_next(value: str) -> str:
    """Only somewhere in the workspace: never an open redirect."""
    return value if value.startswith("/team/") and not value.startswith("//") and "\\" not in value else "/team/"


async def sign_in_form(request: web.Request) -> web.StreamResponse:
    context = {"title": "Sign in", "csrf": form_token(request), "next": safe_next(request.query.get("next", ""))}
    if request.query.get("signed_out"):  # after the Sign out button, as after any action: what it did
        context["said"] = {"ok": True, "text": "You have signed out.", "section": "", "place": None}
    return with_form_cookie(request, render(request, "sign_in.html.j2", context))


async def send_link(request: web.Request) -> web.StreamResponse:
    """The same answer for any address, so the form tells nobody who is on the team."""
    deps = request.app[DEPS]
    if not await form_checked(request):
        return refused(request)
    form = await request.post()
    typed = str(form.get("email", ""))
    address = address_of(typed)
    if address is None:
        context = {"title": "Sign in", "csrf": form_token(request),
                   "errors": {"email": "Enter an email address, like name@example.gov.uk"},
                   "email": typed[:320], "next": safe_next(str(form.get("next", "")))}
        return with_form_cookie(request, render(request, "sign_in.html.j2", context, status=400))
    now = deps.clock()
    client = client_of(request.remote or "", request.headers.getall("X-Forwarded-For", []), deps.trusted_proxies)
    # Counted for every address alike, before the team check: the answer reveals nothing.
    if not deps.attempts.allow(client, now):
        context = {"title": "Too many attempts", "minutes": int(deps.attempts.per_client.window.total_seconds() // 60)}
        return render(request, "sign_in_limited.html.j2", context, status=429)
    if address in deps.team_emails:
        # Past a member's allowance (from this client) or the links sent by everyone, the
        # page is the same as ever and no link goes: the form never tells who is on the team.
        if deps.attempts.may_send(address, client, now):
            await _send(deps, address, safe_next(str(form.get("next", ""))))
        else:
            log.warning("sign-in link not sent: too many asked for one team address or for all of them")
    return render(request, "sign_in_sent.html.j2", {"title": "Check your email", "email": address})


async def _send(deps: Deps, address: str, next_page: str) -> None:
    token = secrets.token_urlsafe(32)
    now = deps.clock()
    expires = now + timedelta(minutes=deps.link_minutes)
    campaign = deps.service.campaign
    link = f"{deps.base_url.rstrip('/')}/team/sign-in/{token}"
    if next_page != "/team/":
        link += f"?next={quote(next_page, safe='')}"
    context = {
        "team_name": campaign.campaign.team_name, "campaign_name": campaign.campaign.name, "link": link,
        "intake_address": deps.service.intake_address,
        "expires": deps.service.when(expires),
    }
    text, html = deps.renderer.email("sign_in", context)
    subject = deps.renderer.email_subject("sign_in", context)
    post = Post(kind="sign-in", recipient=address, send_key=f"sign-in:{digest(token)}", now=now,
                subject=subject, text=text, html=html)
    async with deps.service.store.unit() as unit:
        unit.access.add_link(token_hash=digest(token), email=address, now=now, expires_at=expires)
        await unit.outbound.record_new([deps.mail.scheduled(post)], known=False)
    if deps.wake:
        deps.wake({"email"})


async def link_page(request: web.Request) -> web.StreamResponse:
    """Opening the link shows a button: mail scanners that fetch links must not use it up."""
    deps = request.app[DEPS]
    async with deps.service.store.reader() as unit:
        state = await unit.access.link_state(digest(request.match_info["token"]), deps.clock())
    context = {"title": "Sign in", "state": state, "csrf": form_token(request),
               "next": safe_next(request.query.get("next", ""))}
    status = 200 if state == "valid" else 410
    return with_form_cookie(request, render(request, "sign_in_link.html.j2", context,
                                                                    status=status))


async def use_link(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS]
    if not await form_checked(request):
        return refused(request)
    form = await request.post()
    now = deps.clock()
    async with deps.service.store.unit() as unit:
        email = await unit.access.use_link(digest(request.match_info["token"]), now)
        if email is None or email not in deps.team_emails:
            state = await unit.access.link_state(digest(request.match_info["token"]), now)
            context = {"title": "Sign in", "state": "used" if state == "valid" else state,
                       "csrf": form_token(request), "next": "/team/"}
            return render(request, "sign_in_link.html.j2", context, status=410)
        token = secrets.token_urlsafe(32)
        unit.access.add_session(token_hash=digest(token), email=email, csrf=secrets.token_urlsafe(32), now=now,
                                expires_at=now + timedelta(hours=deps.session_hours))
        unit.audit.record(at=now, actor=email, action="signed-in", entity="team", entity_id=None)
    response = web.HTTPSeeOther(safe_next(str(form.get("next", ""))))
    response.set_cookie(SESSION_COOKIE, token, path="/team/", httponly=True, samesite="Lax", secure=deps.secure,
                        max_age=int(deps.session_hours * 3600))
    response.del_cookie(FORM_COOKIE, path="/team/")
    # As after any action, the next page says (with the focus) what this one did.
    response.set_cookie(FLASH_COOKIE, quote(f"ok::You are signed in as {email}."), path="/team/", httponly=True,
                        samesite="Lax", secure=deps.secure, max_age=60)
    raise response


async def sign_out(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS]
    session: TeamSession = request[SESSION]
    async with deps.service.store.unit() as unit:
        await unit.access.end_session(session.token_hash, deps.clock())
    response = web.HTTPSeeOther("/team/sign-in?signed_out=1")
    response.del_cookie(SESSION_COOKIE, path="/team/")
    raise response
