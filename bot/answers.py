"""After the ack: answering what bot.keep_then_ack kept.

    users.info -> IntakeService.process(identified=...) (the core records who sent it, and
      the replies and team notices in the outbox, held for us) -> Poster.send_held

`answer` runs in the background (bot.tasks) once a request has been kept and acknowledged.
`post` is how the listeners send notes of their own that the core does not record (an
edit, the digest, a form that would not open, processing that failed).
"""
from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.context import SlackContext, Target
from bot.fitting import pages
from bot.identity import Person
from intake.messages import Identified, Outcome

log = logging.getLogger(__name__)


async def answer(ctx: SlackContext, inbound_id: int, *, user: str, target: Target) -> Outcome | None:
    """After the ack: who sent the kept message (users.info), then the core, which records
    its replies and team notices in the outbox; then those are posted."""
    try:
        person = await ctx.directory.person(user)
    except Exception as error:  # the Web API unreachable: the sender stays unknown
        log.warning("users.info for %s failed: %r", user, error)
        person = Person(user)
    # A bot the payload did not show as one is never answered (no loops).
    identified = Identified(person.email, admin=ctx.is_admin(user, person), quiet=person.is_bot)
    try:
        await ctx.background.after_acks()
        outcome = await ctx.service.process(inbound_id, identified=identified, answering=True)
    except Exception:
        # Kept, so not lost: processed again at the next start or by `cib replay`.
        log.exception("processing Slack message %s failed", inbound_id)
        outcome = Outcome(inbound_id, "failed")
    await ctx.background.after_acks()
    if outcome.duplicate:
        return outcome  # a retry or a second click: answered the first time
    if outcome.classification == "failed" and not person.is_bot:
        await post(ctx, target, ctx.views.message("failed", {"kept": True, **ctx.team()}))
    await send_held(ctx, outcome.held)
    return outcome


async def send_held(ctx: SlackContext, outbound_ids: list[int]) -> None:
    """Post now what the core recorded and held for us; what fails is tried again later
    by the outbox's own worker."""
    if ctx.poster is None or not outbound_ids:
        return
    try:
        sent = await ctx.poster.send_held(outbound_ids)
    except Exception:  # noqa: BLE001 - recorded, so the outbox worker posts it later
        log.exception("posting Slack answers %s failed", outbound_ids)
        return
    ctx.undelivered += sent.failed


async def post(ctx: SlackContext, target: Target, message: dict[str, Any]) -> None:
    """Post a message. Slack refusing it (the user gone, the bot not in the channel) is
    logged, not raised: the message itself is already kept by the core."""
    try:
        channel = target.channel
        if target.dm_user:
            channel = await ctx.directory.dm_channel(target.dm_user)
        if not channel:
            return
        for page in pages(message):  # more than 50 blocks: several posts, in order
            await ctx.client.chat_postMessage(
                channel=channel,
                thread_ts=target.thread_ts,
                text=page.get("text") or " ",
                blocks=page.get("blocks"),
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
