"""Keep, then acknowledge: the Slack twin of intake/mail/server.py.

The SMTP handler keeps a message through the service and only then answers 250 (from then
on the message is ours), answers 451 if keeping failed so that the sender's server tries
again, and reads and answers the message after the 250. Here a Slack message, `/cib`
question or form submission for the core is kept the same way: the raw payload committed
by `IntakeService.keep` before Slack is acknowledged, and answered after the ack, in the
background (bot.answers). The sender's email needs users.info, which is not waited for: the
request is kept without a sender, and `process` is told it afterwards (bot.answers).

Keeping failed (SMTP's 451): no ack, and instead, by kind of request,
  - an event: a 503, so that Slack sends it again (an acknowledged event never is);
  - a `/cib` question: "please try again", to the person who asked;
  - a form: `NOT_STORED` shown on it; the form stays open to be sent again.
A retry of a request already kept (the same external id) is acknowledged and nothing more.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncAck

from bot.context import SlackContext
from bot.modal_forms import inline_errors, input_block_ids
from intake.messages import FormInput, Inbound, Kept, storable

log = logging.getLogger(__name__)

# A valid form we could not store: shown on the form, which stays open to be sent again.
NOT_STORED = "Sorry, this could not be stored just now. Please try submitting again."


@dataclass(frozen=True)
class ToKeep:
    """A Slack request for the core, as it is kept."""

    user: str
    text: str | None
    raw: dict[str, Any]
    external_id: str | None
    meta: dict[str, Any]
    form: FormInput | None = None


async def keep(ctx: SlackContext, request: ToKeep) -> Kept | None:
    """Commit the payload before Slack is acknowledged; None if that failed. Who sent it
    (their email) is not known yet: bot.answers adds it after the ack."""
    # What was typed, as any database can hold it (no NULs, no lone surrogates), as the
    # SMTP handler keeps an envelope: replies and records are made from these.
    form = request.form
    if form is not None:
        values = {key: storable(value) or "" for key, value in form.values.items()}
        form = FormInput(kind=form.kind, offer=form.offer, values=values)
    meta = {key: storable(value) if isinstance(value, str) else value for key, value in request.meta.items()}
    inbound = Inbound(
        channel="slack",
        raw=_raw(request.raw),
        sender=None,
        external_id=request.external_id,
        text=storable(request.text),
        form=form,
        meta={**meta, "slack_user": storable(request.user)},
        # A team member listed by user id is known from the payload; by email, once
        # users.info has answered (bot.answers).
        admin=ctx.is_admin(request.user),
    )
    try:
        with ctx.background.acking():
            return await ctx.service.keep(inbound)
    except Exception:
        log.exception("keeping a Slack message failed (%s)", request.external_id)
        return None


def _raw(payload: dict[str, Any]) -> bytes:
    """The payload as kept: UTF-8 JSON; a lone surrogate Slack sent escaped (\\ud800)
    stays escaped, as it came, rather than fail to encode."""
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode()


async def keep_then_ack(
    ctx: SlackContext,
    request: ToKeep,
    *,
    ack: Callable[[], Awaitable[Any]],
    not_kept: Callable[[], Awaitable[BoltResponse | None]],
    answer: Callable[[int], Coroutine[Any, Any, Any]],
    name: str,
) -> BoltResponse | None:
    """IntakeHandler.handle_DATA's order: keep; if that failed, `not_kept` answers instead
    of the ack (451); otherwise ack (250) and, unless the request was kept before, `answer`
    it in the background (on_kept)."""
    kept = await keep(ctx, request)
    if kept is None:
        return await not_kept()
    await ack()
    if not kept.duplicate:  # a retry or a second click: answered the first time
        ctx.background.spawn(answer(kept.id), name=name)
    return None


# --- when keeping failed ------------------------------------------------------------------


async def retry_event() -> BoltResponse:
    """An event: a 5xx, so that Slack sends it again (an acknowledged event is never sent
    again)."""
    return BoltResponse(status=503, body="")


async def ask_again(ctx: SlackContext, ack: AsyncAck) -> None:
    """A `/cib` question: "please try again", to the person who asked."""
    await ack(**ctx.views.message("failed", {"kept": False, **ctx.team()}))


async def submit_again(ack: AsyncAck, view: dict[str, Any]) -> None:
    """A form: the form stays open with what was typed, to be sent again."""
    await ack(response_action="errors", errors=inline_errors({"": NOT_STORED}, input_block_ids(view)))
