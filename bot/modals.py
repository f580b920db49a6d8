"""The forms (Slack modals) for an offer or the nomination: opening one (from the
"open_form" button here, or from `/cib eoi` / `/cib nominate` via bot.slash), the council
type-ahead, and the submission.

Before the ack, and storing nothing: the type-ahead options, and the inline errors of a
form that is not valid (`response_action: errors`, from `IntakeService.check_form`). A valid
form is kept, then acknowledged (which closes it), then answered by DM (bot.keep_then_ack,
bot.answers).
"""
from __future__ import annotations

import asyncio
import logging
import re
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.answers import answer, post
from bot.context import SlackContext, Target
from bot.modal_forms import (
    NOMINATION_CALLBACK,
    OFFER_CALLBACK,
    Prefill,
    council_options,
    form_input,
    inline_errors,
    input_block_ids,
    nobody_named,
    nomination_modal_context,
    offer_modal_context,
)
from bot.identity import Person
from bot.keep_then_ack import ToKeep, keep_then_ack, submit_again
from intake.reports.reply_data import when

log = logging.getLogger(__name__)


async def open_form(ctx: SlackContext, *, trigger_id: str, user: str, target_key: str, origin: str) -> None:
    """views.open for an offer or the nomination. The trigger is valid for 3 seconds,
    so the profile lookup used to pre-fill the form gets one of them at most."""
    try:
        person = await asyncio.wait_for(ctx.directory.person(user), timeout=1.0)
    except (TimeoutError, SlackApiError):
        person = Person(user)
    campaign = ctx.campaign
    prefill = Prefill(email=person.email, name=person.name, council=ctx.councils.by_email(person.email))
    metadata = {"origin": origin}
    if target_key == campaign.nomination.key:
        deadline = when(campaign.deadline(target_key), campaign)
        view = ctx.views.modal(
            "modal_nomination",
            nomination_modal_context(campaign, prefill=prefill, deadline=deadline, metadata=metadata),
        )
    else:
        try:
            deadline = when(campaign.deadline(target_key), campaign)
        except KeyError:
            log.info("no offer %r to open a form for", target_key)
            return
        view = ctx.views.modal(
            "modal_offer",
            offer_modal_context(campaign, target_key, prefill=prefill, deadline=deadline, metadata=metadata),
        )
    try:
        await ctx.client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error"))
        await post(ctx, Target(dm_user=user), ctx.views.message("modal_failed", {"offer": target_key}))


class Modals:
    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx

    def register(self, app: AsyncApp) -> None:
        app.view_submission(OFFER_CALLBACK)(self.on_form)
        app.view_submission(NOMINATION_CALLBACK)(self.on_form)
        app.block_suggestion(re.compile(".*"))(self.on_suggestion)
        app.action("open_form")(self.on_open_form)

    async def on_open_form(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        trigger_id = str(body.get("trigger_id") or "")
        key = str(action.get("value") or "")
        if not user or not trigger_id:
            return
        self.ctx.background.spawn(
            open_form(self.ctx, trigger_id=trigger_id, user=user, target_key=key,
                      origin=str((body.get("channel") or {}).get("id") or "")),
            name=f"slack-modal-{trigger_id}",
        )

    async def on_suggestion(self, ack: AsyncAck, payload: dict[str, Any]) -> None:
        """The council type-ahead: fuzzy search over the register, best first."""
        await ack(options=council_options(self.ctx.councils, str(payload.get("value") or "")))

    async def on_form(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        ctx = self.ctx
        form = form_input(view, ctx.campaign)
        if form is None:
            await ack()
            return
        try:
            problems = {**nobody_named(form, ctx.campaign), **ctx.service.check_form(form)}
        except Exception:
            # Ours, not theirs: take the form; the core keeps it and records the failure.
            log.exception("checking a submitted form failed")
            problems = {}
        # Shown on the form; a form with no input to show them on (never one of ours as
        # Slack shows it) is taken like any other, and the core answers what is missing.
        errors = inline_errors(problems, input_block_ids(view)) if problems else {}
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        user = str((body.get("user") or {}).get("id") or "")
        request = ToKeep(
            user=user,
            text=None,
            form=form,
            raw=body,
            external_id=f"view:{view.get('id')}:{view.get('hash')}",
            meta={"slack_team": (body.get("team") or {}).get("id"), "source": "modal", "view_id": view.get("id")},
        )
        await keep_then_ack(
            ctx,
            request,
            ack=ack,  # closes the modal
            not_kept=partial(submit_again, ack, view),
            answer=partial(answer, ctx, user=user, target=Target(dm_user=user)),
            name=f"slack-form-{view.get('id')}",
        )
