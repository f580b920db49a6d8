"""Message and app_mention events: which are a person writing to the bot (DMs, and
@mentions in channels), which are edits, and which are not for the core at all.

A person's message is kept and then acknowledged (bot.keep_then_ack), and answered in the same
thread after the ack (bot.answers). An edit is not applied: the person is told so, once per
edit however often Slack retries the event (`_Recent`). Everything else is acknowledged and
left alone.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from functools import partial
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.answers import answer, post
from bot.context import SlackContext, Target
from bot.keep_then_ack import ToKeep, keep_then_ack, retry_event
from bot.mrkdwn import plain_text

# Message subtypes that are a person writing; everything else (edits, deletions, joins,
# bots, replies-count updates) is not a new message for the core.
_WRITTEN = {None, "file_share", "thread_broadcast"}
_MENTION = re.compile(r"^\s*<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


class _Recent:
    """A bounded set of ids seen lately (for the bot's own notes, which the core does not
    de-duplicate)."""

    def __init__(self, size: int = 2048) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first_time(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


class Events:
    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx
        self._recent = _Recent()

    def register(self, app: AsyncApp) -> None:
        app.event("message")(self.on_message)
        app.event("app_mention")(self.on_mention)

    async def on_message(
        self, ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], context: Any
    ) -> BoltResponse | None:
        subtype = event.get("subtype")
        if event.get("channel_type") not in ("im", None) or not str(event.get("channel", "")).startswith("D"):
            await ack()
            return None  # channels: only @mentions (app_mention) are for us
        if subtype == "message_changed":
            await ack()
            self._edited(body, event)
            return None
        if subtype not in _WRITTEN or not _from_a_person(event, context):
            await ack()
            return None  # deletions, joins, other bots (and this one): never kept, never answered
        text = plain_text(event.get("text"), bot_user_id=context.get("bot_user_id"))
        return await self._take_message(ack, body, event, text, source="dm")

    async def on_mention(
        self, ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], context: Any
    ) -> BoltResponse | None:
        channel = str(event.get("channel", ""))
        if channel.startswith("D") or event.get("subtype") or not _from_a_person(event, context):
            await ack()
            return None  # a DM arrives as a message event too (answered there); bots never
        # The mention that woke us is the bot's, even before auth.test has told us our id.
        bot_user_id = context.get("bot_user_id") or next(iter(_MENTION.findall(event.get("text") or "")), None)
        text = plain_text(event.get("text"), bot_user_id=bot_user_id)
        return await self._take_message(ack, body, event, text, source="mention")

    async def _take_message(
        self, ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], text: str, *, source: str
    ) -> BoltResponse | None:
        """Keep the event, then ack; or, if it could not be kept, answer 503 so that Slack
        sends it again (an acknowledged event is never sent again)."""
        user, channel, ts = str(event["user"]), str(event.get("channel", "")), event.get("ts")
        thread_ts = event.get("thread_ts") or ts
        event_id = body.get("event_id")
        request = ToKeep(
            user=user,
            text=text or "help",
            raw=body,
            # One message is one row, whatever event_ids Slack delivers it under (a retry
            # after a slow ack, a message and an app_mention for the same post).
            external_id=f"{channel}:{ts}" if channel and ts else event_id,
            meta={"slack_channel": channel, "thread_ts": thread_ts, "ts": ts,
                  "slack_team": body.get("team_id"), "source": source},
        )
        return await keep_then_ack(
            self.ctx,
            request,
            ack=ack,
            not_kept=retry_event,
            answer=partial(answer, self.ctx, user=user, target=Target(channel=channel, thread_ts=thread_ts)),
            name=f"slack-{source}-{event_id}",
        )

    def _edited(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A person edited a message they sent us: say once that edits are not applied
        (a changed submission is a new message). Edits by bots, unfurls and thread
        reply counts (same text) are not edits by a person."""
        message = event.get("message") or {}
        previous = event.get("previous_message") or {}
        user = message.get("user")
        if not user or message.get("bot_id") or message.get("subtype"):
            return
        if (message.get("text") or "") == (previous.get("text") or ""):
            return
        key = body.get("event_id") or f"{event.get('channel')}:{message.get('ts')}:{message.get('edited', {}).get('ts')}"
        if not self._recent.first_time(f"edit:{key}"):
            return
        target = Target(channel=event.get("channel"), thread_ts=message.get("thread_ts") or message.get("ts"))
        self.ctx.background.spawn(post(self.ctx, target, self.ctx.views.message("edited")), name=f"slack-edit-{key}")


def _from_a_person(event: dict[str, Any], context: Any) -> bool:
    """Written by someone, as far as the payload says: not a bot (ours or another), not
    this app's own user. users.info (which says is_bot too) is not waited for."""
    user = event.get("user")
    if not user or event.get("bot_id") or event.get("bot_profile"):
        return False
    return user != context.get("bot_user_id")
