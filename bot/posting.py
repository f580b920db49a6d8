"""The Slack channel's carrier for the outbox dispatcher (`intake/outbox/dispatch.py`):
one recorded post, rendered (`Say`) and sent with chat.postMessage.

Every post the core records goes through here: replies, team notices, reminders and
digests. Scheduled posts go at most one a second to a channel (Slack's guidance); a 429
is waited out by slack_sdk's rate-limit handler. An error that says the post can never
go where it is addressed (channel_not_found, is_archived, user_not_found, ...) is a
refusal for good: the send fails at once and the team sees it. Any other failure raises,
and the dispatcher tries again later: a timeout, a 5xx, ratelimited, and errors about our
own set-up (invalid_auth, token_revoked, missing_scope, account_inactive: Slack's word for
a token whose app or user is gone), which every post would meet until it is put right.
A recipient `dm:<user id>` is the bot's direct-message channel with that user, opened
(conversations.open) when first needed.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.identity import Directory
from bot.fitting import fit_message, pages
from bot.slack_views import SlackViews
from intake.messages import Reply
from intake.models import OutboundMessage
from intake.outbox.send_errors import Refused

SPACING = 1.0  # seconds between scheduled posts to one channel
DM = "dm:"
Confirm = Callable[[], Awaitable[None]]
# Web API errors (chat.postMessage, conversations.open) that this post will meet however
# often it is tried: where it is addressed is gone or closed to us, or Slack will not take it.
FOR_GOOD = frozenset({
    "channel_not_found", "is_archived", "not_in_channel", "user_not_found", "user_not_visible",
    "user_disabled", "cannot_dm_bot", "messages_tab_disabled", "thread_not_found", "msg_too_long",
    "no_text", "too_many_attachments", "invalid_blocks", "invalid_blocks_format", "invalid_arguments",
    "restricted_action", "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel",
})


def refusal(error: SlackApiError) -> Refused | None:
    """The Web API's error as a refusal for good, or None if it is worth trying again."""
    code = error.response.get("error") if error.response is not None else None
    return Refused(f"Slack: {code}") if code in FOR_GOOD else None


def paced(kind: str) -> bool:
    """Reminders and digests go out in rounds: one a second per channel. An answer to a
    person, or the team's notice of it, goes at once (Slack allows short bursts, and a
    429 is waited out)."""
    return not (kind.startswith("reply-") or kind == "notice")


@dataclass(frozen=True)
class Say:
    """What an outbound Slack row says, as recorded: a core reply (`reply`: its kind) or
    one of the bot's own messages (`view`: its template) with the data to render it with,
    or a message already rendered (`message`: text and blocks)."""

    reply: str | None = None
    view: str | None = None
    context: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    thread_ts: str | None = None

    def to_json(self) -> bytes:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, body: bytes) -> Say:
        data = json.loads(body)
        if "reply" not in data and "view" not in data and "message" not in data:
            # Recorded rendered, as {"text", "blocks"}, before this shape existed.
            message = {"text": data.get("text"), "blocks": data.get("blocks")}
            return cls(message=message, thread_ts=data.get("thread_ts"))
        return cls(**data)

    def render(self, views: SlackViews) -> dict[str, Any]:
        if self.reply is not None:
            return views.reply(Reply(self.reply, self.context or {}))
        if self.view is not None:
            return views.message(self.view, self.context)
        return fit_message(self.message or {})


def slack_row(*, kind: str, recipient: str, say: Say, subject: str, now: datetime) -> OutboundMessage:
    """An outbound row for a Slack post to a channel (or `dm:<user>`)."""
    return OutboundMessage(
        kind=kind, channel="slack", recipient=recipient, subject=subject[:500], body=say.to_json(),
        created_at=now, status="pending",
    )


def dm(user_id: str) -> str:
    return DM + user_id


class SlackCarrier:
    def __init__(
        self, make_client: Callable[[aiohttp.ClientSession | None], AsyncWebClient], *, views: SlackViews
    ) -> None:
        self._make_client = make_client
        self.views = views
        self._session: aiohttp.ClientSession | None = None
        self.client = make_client(None)
        self.own_directory = Directory(self.client)
        self.directory = self.own_directory
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def share(self, directory: Directory | None) -> None:
        """Open direct-message channels through the running bot's directory (the bot
        then knows which channel is a user's DM); None: back to our own."""
        if directory is None:
            self.own_directory.adopt(self.directory)
            self.directory = self.own_directory
        else:
            directory.adopt(self.own_directory)
            self.directory = directory

    def _connected(self) -> AsyncWebClient:
        # One HTTP session (keep-alive) for all posts, made inside the running loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self.client = self._make_client(self._session)
            self.own_directory.client = self.client
        return self.client

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, row: OutboundMessage) -> None:
        await self.send_fenced(row, confirm=None)

    async def send_fenced(self, row: OutboundMessage, *, confirm: Confirm | None) -> None:
        """Post the row: one post, or several in order when it holds more blocks than one
        post may (a busy digest, the status of a council with many entries). `confirm()`
        is awaited just before the first post goes (see `Carrier` in
        `intake/outbox/dispatch.py`)."""
        try:
            await self._send(row, confirm)
        except SlackApiError as error:
            refused = refusal(error)
            if refused is None:
                raise
            raise refused from error

    async def _send(self, row: OutboundMessage, confirm: Confirm | None) -> None:
        say = Say.from_json(row.body)
        posts = [{**page, "thread_ts": say.thread_ts} for page in pages(say.render(self.views))]
        channel = row.recipient
        if channel.startswith(DM):
            channel = await self.directory.dm_channel(channel.removeprefix(DM))
        for n, payload in enumerate(posts):
            ready = confirm if n == 0 else None  # once begun, the rest of a long post follows it
            if not paced(row.kind):
                await _confirmed(ready)
                await self._post(channel, payload)
                continue
            async with self._locks.setdefault(channel, asyncio.Lock()):
                wait = self._last.get(channel, 0.0) + SPACING - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await _confirmed(ready)
                try:
                    await self._post(channel, payload)
                finally:
                    self._last[channel] = time.monotonic()

    async def _post(self, channel: str, payload: dict[str, Any]) -> None:
        await self._connected().chat_postMessage(
            channel=channel,
            thread_ts=payload.get("thread_ts"),
            text=payload.get("text") or " ",
            blocks=payload.get("blocks"),
            # Nothing anyone wrote may unfurl into a preview.
            unfurl_links=False,
            unfurl_media=False,
        )

    def describe(self) -> str:
        return f"Slack {self.client.base_url}"


async def _confirmed(confirm: Confirm | None) -> None:
    if confirm is not None:
        await confirm()
