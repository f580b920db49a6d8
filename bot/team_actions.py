"""The CIB team's actions on an entry, from Slack: the Verify and Reject buttons on a team
notice about an unverified entry, and `/cib verify|reject|decide|audit`.

Each does what `cib verify|reject|decide|audit` does on the command line, through the same
desk (`intake.team.TeamDesk`, as `Desk` here): the change, its audit entry (the actor is
`slack:<user id>`) and the reply that tells the sender are one transaction, and the outbox
delivers that reply by the channel the entry came by.

    Verify button  -> ack -> background: TeamDesk.verify -> the notice's buttons become
                      "Verified by @someone" (chat.update)
    Reject button  -> ack -> background: views.open (the reason, required)
      submitted    -> an empty reason: the modal says so (response_action: errors);
                      otherwise ack (closes it) -> background: TeamDesk.reject -> the
                      notice's buttons become "Rejected by @someone: <reason>"
    /cib <verb> REF -> ack -> background: the desk -> its words, only for the one who asked

Only a team member (CIB_ADMIN_SLACK_USERS: a user id, or an email looked up with
users.info) may act; anyone else is told so, only them, and nothing changes. A second
click, after someone else acted, changes nothing: the desk's "already verified" (or why
nothing changed) is shown to whoever clicked.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.answers import post
from bot.commands import Command
from bot.context import SlackContext, Target
from bot.fitting import pages
from bot.modal_forms import metadata as form_metadata, state_values
from bot.identity import Person
from intake.reports.reply_data import when
from intake.team.board import detail_words, field_titles

log = logging.getLogger(__name__)

VERIFY = "team_verify"
REJECT = "team_reject"
REJECT_CALLBACK = "team_reject"
BLOCK_PREFIX = "team:"  # the notice's actions block for one entry: "team:<reference>"
DECISIONS = ("accept", "decline", "waitlist")
METADATA_LIMIT = 3000  # Slack's limit on a view's private_metadata
EMPTY_REASON = "Say why: the sender is told the reason."
FAILED = "Something went wrong there. `/cib audit <reference>` shows what was done; then try again."

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

USAGE = {
    "verify": "Which one? `/cib verify PBR-0007`",
    "reject": "Which one, and why? `/cib reject PBR-0007 Not sent by the council.` (the sender is told the reason)",
    "decide": "`/cib decide PBR-0007 accept|decline|waitlist [a line for the council]`",
    "audit": "Which one? `/cib audit PBR-0007`",
}


class Desk(Protocol):
    """What the bot needs from intake.team.TeamDesk. Each action returns a `Done`
    (ok, message, told, changed)."""

    async def verify(self, reference: str, *, actor: str) -> Any: ...

    async def reject(self, reference: str, *, actor: str, reason: str) -> Any: ...

    async def decide(self, reference: str, decision: str, *, actor: str, note: str = "") -> Any: ...

    async def audit(self, reference: str) -> list[Any]: ...


def actor(user: str) -> str:
    """Who acted, as the audit trail records it."""
    return f"slack:{user}"


@dataclass(frozen=True)
class Where:
    """Who asked, and where an answer only they see can go."""

    user: str
    channel: str = ""
    response_url: str = ""

    @classmethod
    def of_action(cls, body: dict[str, Any]) -> Where:
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        return cls(user=str((body.get("user") or {}).get("id") or ""), channel=str(channel),
                   response_url=str(body.get("response_url") or ""))


class TeamActions:
    def __init__(self, ctx: SlackContext, desk: Desk | None) -> None:
        self.ctx = ctx
        self.desk = desk

    def register(self, app: AsyncApp) -> None:
        app.action(VERIFY)(self.on_verify)
        app.action(REJECT)(self.on_reject)
        app.view_submission(REJECT_CALLBACK)(self.on_reject_submitted)

    # --- who may act ------------------------------------------------------------------------

    def known_outsider(self, user: str) -> bool:
        """Not a team member, as far as can be told without asking Slack: listed neither by
        id nor (when the team is listed by email) by a profile already looked up."""
        ctx = self.ctx
        cached = ctx.directory.cached(user)
        if ctx.is_admin(user, cached):
            return False
        return cached is not None or not any("@" in entry for entry in ctx.admins)

    async def is_member(self, user: str, *, timeout: float | None = None) -> bool:
        ctx = self.ctx
        if ctx.is_admin(user):
            return True
        if not any("@" in entry for entry in ctx.admins):
            return False
        try:
            person = await asyncio.wait_for(ctx.directory.person(user), timeout=timeout)
        except (TimeoutError, SlackApiError, aiohttp.ClientError) as error:
            log.warning("users.info for %s failed: %r", user, error)
            person = Person(user)
        return ctx.is_admin(user, person)

    # --- /cib verify|reject|decide|audit ------------------------------------------------------

    async def on_command(self, ack: AsyncAck, body: dict[str, Any], command: Command) -> None:
        ctx = self.ctx
        user = str(body.get("user_id") or "")
        if self.known_outsider(user):
            await ack(**ctx.views.message("not_allowed", {"command": command.verb, **ctx.team()}))
            return
        problem = self._usage(command)
        if problem:
            await ack(**ctx.views.message("hint", {"text": problem}))
            return
        await ack()  # the answer follows, only for them, once the desk has done it
        where = Where(user=user, channel=str(body.get("channel_id") or ""),
                      response_url=str(body.get("response_url") or ""))
        ctx.background.spawn(self._or_say_so(where, self._command(where, command)), name=f"slack-team-{command.verb}-{body.get('trigger_id')}")

    def _usage(self, command: Command) -> str:
        if not command.reference:
            return USAGE[command.verb]
        if command.verb == "reject" and not command.text.strip():
            return USAGE["reject"]
        if command.verb == "decide" and command.text.partition(" ")[0].lower() not in DECISIONS:
            return USAGE["decide"]
        return ""

    async def _command(self, where: Where, command: Command) -> None:
        ctx = self.ctx
        if not await self.is_member(where.user):
            await self.tell(where, ctx.views.message("not_allowed", {"command": command.verb, **ctx.team()}))
            return
        if self.desk is None:
            await self.tell(where, ctx.views.message("hint", {"text": "The team's actions are not available here."}))
            return
        who, reference = actor(where.user), command.reference
        if command.verb == "audit":
            entries = await self.desk.audit(reference)
            await self.tell(where, ctx.views.message("team_audit", audit_view(reference, entries, ctx)))
            return
        if command.verb == "verify":
            done = await self.desk.verify(reference, actor=who)
        elif command.verb == "reject":
            done = await self.desk.reject(reference, actor=who, reason=command.text)
        else:
            decision, _, note = command.text.partition(" ")
            done = await self.desk.decide(reference, decision.lower(), actor=who, note=note.strip())
        await self.tell(where, done_message(ctx, done))

    # --- the notice's buttons ---------------------------------------------------------------

    async def on_verify(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        where = Where.of_action(body)
        reference = str(action.get("value") or "")
        if not where.user or not reference:
            return
        self.ctx.background.spawn(self._or_say_so(where, self._verify(where, reference, body.get("message"))),
                                  name=f"slack-team-verify-{body.get('trigger_id')}")

    async def _verify(self, where: Where, reference: str, message: dict[str, Any] | None) -> None:
        ctx = self.ctx
        if not await self.is_member(where.user):
            await self.tell(where, ctx.views.message("team_only", {"action": "verify", **ctx.team()}))
            return
        if self.desk is None:
            return
        done = await self.desk.verify(reference, actor=actor(where.user))
        if not done.changed:
            await self.tell(where, done_message(ctx, done))
            return
        line = ctx.views.message("team_acted", {"action": "verified", "user": where.user, "told": done.told})
        await self.mark_notice(where, message, reference, line)

    async def on_reject(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        where = Where.of_action(body)
        reference = str(action.get("value") or "")
        trigger_id = str(body.get("trigger_id") or "")
        if not where.user or not reference or not trigger_id:
            return
        self.ctx.background.spawn(self._open_reject(where, reference, trigger_id, body.get("message")),
                                  name=f"slack-team-reject-{trigger_id}")

    async def _open_reject(
        self, where: Where, reference: str, trigger_id: str, message: dict[str, Any] | None
    ) -> None:
        ctx = self.ctx
        # The trigger is valid for 3 seconds: a profile lookup gets one of them at most.
        if not await self.is_member(where.user, timeout=1.0):
            await self.tell(where, ctx.views.message("team_only", {"action": "reject", **ctx.team()}))
            return
        metadata = {"reference": reference, "channel": where.channel, "response_url": where.response_url}
        if message:
            metadata["ts"] = message.get("ts")
            # The notice as it is, so its buttons can be replaced once the reason is given;
            # without it (too long to carry) the outcome goes in the notice's thread.
            notice = {**metadata, "text": message.get("text"), "blocks": message.get("blocks")}
            if len(json.dumps(notice)) <= METADATA_LIMIT:
                metadata = notice
        view = ctx.views.modal("team_reject", {"reference": reference, "callback_id": REJECT_CALLBACK,
                                               "private_metadata": json.dumps(metadata)})
        try:
            await ctx.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))
            await self.tell(where, ctx.views.message("hint", {"text": USAGE["reject"]}))

    async def on_reject_submitted(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        ctx = self.ctx
        user = str((body.get("user") or {}).get("id") or "")
        metadata = form_metadata(view)  # {} for anything but the object we put there
        reference = str(metadata.get("reference") or "")
        reason = state_values(view).get("reason", "")
        if not reason.strip():
            await ack(response_action="errors", errors={"reason": EMPTY_REASON})
            return
        if self.known_outsider(user):
            await ack(response_action="errors", errors={"reason": "Only the CIB team can reject an entry."})
            return
        await ack()  # closes the modal
        if not reference:
            return
        where = Where(user=user, channel=str(metadata.get("channel") or ""),
                      response_url=str(metadata.get("response_url") or ""))
        message = {k: metadata[k] for k in ("ts", "text", "blocks") if k in metadata} or None
        ctx.background.spawn(self._or_say_so(where, self._reject(where, reference, reason.strip(), message)),
                             name=f"slack-team-reject-{view.get('id')}")

    async def _reject(self, where: Where, reference: str, reason: str, message: dict[str, Any] | None) -> None:
        ctx = self.ctx
        if not await self.is_member(where.user):
            await self.tell(where, ctx.views.message("team_only", {"action": "reject", **ctx.team()}))
            return
        if self.desk is None:
            return
        done = await self.desk.reject(reference, actor=actor(where.user), reason=reason)
        if not done.changed:
            await self.tell(where, done_message(ctx, done))
            return
        line = ctx.views.message("team_acted",
                                 {"action": "rejected", "user": where.user, "reason": reason, "told": done.told})
        await self.mark_notice(where, message, reference, line)

    # --- answering --------------------------------------------------------------------------

    async def _or_say_so(self, where: Where, work: Coroutine[Any, Any, None]) -> None:
        """A failure (the database unreachable, say) is logged and told to whoever asked."""
        try:
            await work
        except Exception:
            log.exception("a team action from Slack failed")
            await self.tell(where, self.ctx.views.message("hint", {"text": FAILED}))

    async def mark_notice(
        self, where: Where, message: dict[str, Any] | None, reference: str, line: dict[str, Any]
    ) -> None:
        """The notice's buttons for `reference` become `line` (chat.update); when the
        notice cannot be updated, `line` is posted in its thread (or told to whoever acted)."""
        ctx = self.ctx
        ts = str((message or {}).get("ts") or "")
        blocks = (message or {}).get("blocks")
        if where.channel and ts and blocks:
            updated = [line["blocks"][0] if b.get("block_id") == BLOCK_PREFIX + reference else b for b in blocks]
            try:
                await ctx.client.chat_update(channel=where.channel, ts=ts, text=(message or {}).get("text") or " ",
                                             blocks=updated)
                return
            except SlackApiError as error:
                log.warning("chat.update of a team notice failed: %s", error.response.get("error"))
        if where.channel and ts:
            await post(ctx, Target(channel=where.channel, thread_ts=ts), line)
            return
        await self.tell(where, line)

    async def tell(self, where: Where, message: dict[str, Any]) -> None:
        """Only for the one who asked: by the request's response_url, else an ephemeral
        message in its channel, else their DM with the bot."""
        ctx = self.ctx
        if len(pages(message)) > 1:  # a long audit trail: posts in order, in their DM
            await post(ctx, Target(dm_user=where.user), message)
            return
        if where.response_url:
            try:
                response = await AsyncWebhookClient(where.response_url, timeout=15).send(
                    text=message.get("text") or " ", blocks=message.get("blocks"),
                    response_type="ephemeral", replace_original=False,
                )
                if response.status_code == 200:
                    return
                log.warning("Slack refused a response_url answer: %s %s", response.status_code, response.body)
            except (aiohttp.ClientError, TimeoutError) as error:
                log.warning("could not answer by response_url: %r", error)
        if where.channel:
            try:
                await ctx.client.chat_postEphemeral(channel=where.channel, user=where.user,
                                                    text=message.get("text") or " ", blocks=message.get("blocks"))
                return
            except SlackApiError as error:  # e.g. the bot is not in that channel
                log.info("chat.postEphemeral to %s failed: %s", where.channel, error.response.get("error"))
        await post(ctx, Target(dm_user=where.user), message)


def done_message(ctx: SlackContext, done: Any) -> dict[str, Any]:
    return ctx.views.message("team_done", {"message": done.message, "ok": done.ok, "told": done.told,
                                           "changed": getattr(done, "changed", False)})


def audit_view(reference: str, entries: list[Any], ctx: SlackContext) -> dict[str, Any]:
    """The audit trail as the CLI's `cib audit` shows it: when, who, what, detail."""
    rows = []
    titles = field_titles(ctx.campaign)
    for entry in entries:
        who = str(entry.actor or "")
        user = who.removeprefix("slack:")
        # In words, as the workspace shows it: a change as "Contact role: (none) → Head".
        detail = detail_words(entry.detail, ctx.campaign, ctx.councils, titles)
        rows.append({
            "when": when(entry.at, ctx.campaign), "who": who, "what": entry.action, "detail": detail,
            "slack_user": user if who.startswith("slack:") and _USER_ID.match(user) else None,
        })
    return {"reference": reference, "entries": rows}
