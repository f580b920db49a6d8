"""The team's actions from the pages: each POST runs one `TeamDesk` action as the
signed-in member (so the audit trail names them), then goes back to the page it came
from with what happened, in words, shown once."""
from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from intake.messages import storable
from intake.models import TeamSession
from intake.team.desk import DECISIONS, Done
from workspace import pages
from workspace.sign_in import safe_next
from workspace.view import DEPS, FLASH_COOKIE, SESSION

REASON_MISSING = "Say why you are rejecting it: the sender is told the reason."
DECISION_MISSING = "Choose accept, waiting list or decline."


def _back(request: web.Request, done: Done, fallback: str) -> web.HTTPSeeOther:
    deps = request.app[DEPS]
    target = safe_next(request.query.get("back", "")) if request.query.get("back") else fallback
    # No fragment in the address: a browser that scrolls to one skips `autofocus`, and the
    # banner saying what happened must have the focus. The banner links to the section.
    target, _, section = target.partition("#")
    response = web.HTTPSeeOther(target)
    said = ("ok:" if done.ok else "error:") + section + ":" + done.message + (
        " The sender has been told." if done.told else "")
    response.set_cookie(FLASH_COOKIE, quote(said[:600]), path="/team/", httponly=True, samesite="Lax",
                        secure=deps.secure, max_age=60)
    return response


def _reference(request: web.Request) -> str:
    return storable(request.match_info["reference"]) or ""


def _text(form: MultiDictProxy[str | FileField], name: str) -> str:
    """What was typed in a field, as any database can hold it (PostgreSQL refuses a NUL);
    a file sent in its place is nothing typed."""
    value = form.get(name, "")
    return (storable(value) or "") if isinstance(value, str) else ""


def _actor(request: web.Request) -> str:
    session: TeamSession = request[SESSION]
    return session.email


async def verify(request: web.Request) -> web.StreamResponse:
    reference = _reference(request)
    done = await request.app[DEPS].team.verify(reference, actor=_actor(request))
    raise _back(request, done, f"/team/entries/{quote(reference.upper())}")


async def reject(request: web.Request) -> web.StreamResponse:
    reference = _reference(request)
    form = await request.post()
    reason = _text(form, "reason")
    done = await request.app[DEPS].team.reject(reference, actor=_actor(request), reason=reason)
    if not done.ok and not reason.strip():  # the field's fault: the form again, the field marked
        return await pages.entry_page(request, reference, errors={"reason": REASON_MISSING}, status=400)
    raise _back(request, done, f"/team/entries/{quote(reference.upper())}")


async def decide(request: web.Request) -> web.StreamResponse:
    reference = _reference(request)
    form = await request.post()
    decision, note = _text(form, "decision"), _text(form, "note")
    if decision not in DECISIONS:
        return await pages.entry_page(request, reference, errors={"decision-accept": DECISION_MISSING},
                                      typed={"note": note}, status=400)
    done = await request.app[DEPS].team.decide(reference, decision, actor=_actor(request), note=note)
    raise _back(request, done, f"/team/entries/{quote(reference.upper())}")


async def answer(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    enquiry = _id(request)
    text = _text(form, "answer")
    done = await request.app[DEPS].team.answer(enquiry, text, actor=_actor(request))
    if not done.ok and not text.strip():
        return await pages.needs_page(request, errors={f"answer-{enquiry}": done.message}, status=400)
    raise _back(request, done, "/team/needs#enquiries")


async def handled(request: web.Request) -> web.StreamResponse:
    done = await request.app[DEPS].team.handled(_id(request), actor=_actor(request))
    raise _back(request, done, "/team/needs#enquiries")


# Row ids are the database's integers: beyond them nothing can be found, and PostgreSQL
# (or SQLite, past 64 bits) would refuse to look.
MAX_ID = 2**31 - 1


def _id(request: web.Request) -> int:
    number = _number(request.match_info["id"])
    if number is None:
        raise web.HTTPNotFound()
    return number


async def run_again(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    done = await request.app[DEPS].triage.run_again(
        _id(request), actor=_actor(request), council=_text(form, "council"), offer=_text(form, "offer")
    )
    raise _back(request, done, "/team/needs#stuck")


async def close_message(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    done = await request.app[DEPS].triage.close_message(_id(request), actor=_actor(request),
                                                        note=_text(form, "note"))
    raise _back(request, done, "/team/needs#stuck")


async def close_draft(request: web.Request) -> web.StreamResponse:
    done = await request.app[DEPS].triage.close_draft(_id(request), actor=_actor(request))
    raise _back(request, done, "/team/needs#drafts")


async def accept_late(request: web.Request) -> web.StreamResponse:
    reference = _reference(request)
    done = await request.app[DEPS].triage.accept_late(reference, actor=_actor(request))
    raise _back(request, done, "/team/needs#late")


async def make_held(request: web.Request) -> web.StreamResponse:
    done = await request.app[DEPS].triage.decide_held(_id(request), make=True, actor=_actor(request))
    raise _back(request, done, "/team/needs#held")


async def refuse_held(request: web.Request) -> web.StreamResponse:
    done = await request.app[DEPS].triage.decide_held(_id(request), make=False, actor=_actor(request))
    raise _back(request, done, "/team/needs#held")


async def send_again(request: web.Request) -> web.StreamResponse:
    done = await request.app[DEPS].triage.send_again(_id(request), actor=_actor(request))
    raise _back(request, done, "/team/needs#failed")


async def unreachable(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    done = await request.app[DEPS].triage.unreachable(
        _text(form, "address"), actor=_actor(request), reason=_text(form, "reason"),
        outbound_id=_number(form.get("outbound_id")), inbound_id=_number(form.get("inbound_id")),
    )
    raise _back(request, done, "/team/needs#failed")


def _number(value: object) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number <= MAX_ID else None
