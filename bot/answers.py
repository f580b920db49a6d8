"""After the ack: answering what bot.keeping kept, and posting.

    users.info -> IntakeService.identify -> IntakeService.process -> Outcome
      -> chat.postMessage (same thread / DM)  -> notices to the team channel

`answer` runs in the background (bot.tasks) once a request has been kept and acknowledged;
`post` is also how the listeners send their own notes (edits, digest, a form that would not
open).
"""
from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.context import SlackContext, Target
from bot.identity import Person
from intake.messages import Outcome

log = logging.getLogger(__name__)

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


async def answer(ctx: SlackContext, inbound_id: int, *, user: str, target: Target) -> Outcome | None:
    """After the ack: who sent the kept message (users.info), then the core, then its
    answers posted."""
    try:
        person = await ctx.directory.person(user)
    except Exception as error:  # the Web API unreachable: the sender stays unknown
        log.warning("users.info for %s failed: %r", user, error)
        person = Person(user)
    try:
        await ctx.background.after_acks()
        await ctx.service.identify(inbound_id, sender=person.email, admin=ctx.is_admin(user, person))
        await ctx.background.after_acks()
        outcome = await ctx.service.process(inbound_id)
    except Exception:
        # Kept, so not lost: processed again at the next start or by `cib replay`.
        log.exception("processing Slack message %s failed", inbound_id)
        outcome = Outcome(inbound_id, "failed")
    await ctx.background.after_acks()
    if person.is_bot:
        # A bot the payload did not show as one: never answered (no loops).
        if not outcome.duplicate:
            await notify_team(ctx, outcome.notices, via=user)
        return outcome
    await deliver(ctx, outcome, target, user=user)
    return outcome


async def deliver(ctx: SlackContext, outcome: Outcome, target: Target, *, user: str | None = None) -> None:
    if outcome.duplicate:
        return  # a retry or a second click: answered the first time
    if outcome.classification == "failed":
        await post(ctx, target, ctx.views.message("failed", {"kept": True, **ctx.team()}))
    for reply in outcome.replies:
        await post(ctx, target, ctx.views.reply(reply))
    await notify_team(ctx, outcome.notices, via=user)


async def notify_team(ctx: SlackContext, notices: list[str], *, via: str | None = None) -> None:
    channel = ctx.settings.team_slack_channel
    if not channel:
        return
    for notice in notices:
        message = ctx.views.message(
            "team_notice", {"notice": notice, "via": via if via and _USER_ID.match(via) else None}
        )
        await post(ctx, Target(channel=channel), message)


async def post(ctx: SlackContext, target: Target, message: dict[str, Any]) -> None:
    """Post a message. Slack refusing it (the user gone, the bot not in the channel) is
    logged, not raised: the message itself is already kept by the core."""
    try:
        channel = target.channel
        if target.dm_user:
            channel = await ctx.directory.dm_channel(target.dm_user)
        if not channel:
            return
        await ctx.client.chat_postMessage(
            channel=channel,
            thread_ts=target.thread_ts,
            text=message.get("text") or " ",
            blocks=message.get("blocks"),
            # Nothing anyone wrote may unfurl into a preview.
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as error:
        ctx.undelivered += 1
        log.warning(
            "Slack refused a message to %s: %s",
            target.channel or target.dm_user, error.response.get("error"),
        )
    except (aiohttp.ClientError, TimeoutError) as error:
        ctx.undelivered += 1
        log.warning("could not reach Slack to post to %s: %r", target.channel or target.dm_user, error)
