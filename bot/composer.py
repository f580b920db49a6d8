"""The Slack channel's composer: a core reply, a team notice or a scheduled post as an
outbound row, for the Slack carrier (`bot/posting.py`) to post.

A reply goes where the message came from: the same thread for a channel message or
mention, the user's direct messages for a command or a form. Rendering happens here,
while the transaction that decided to answer is open, so what is posted later is
exactly what was decided."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from bot.posting import dm, payload_row
from bot.views import SlackViews
from intake.messages import Message, Post, Reply
from intake.models import InboundMessage, OutboundMessage

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class SlackReplies:
    def __init__(self, views: SlackViews, *, team_channel: str | None, clock: Callable[[], datetime]) -> None:
        self.views = views
        self.team_channel = team_channel
        self.clock = clock

    def reply(self, reply: Reply, *, row: InboundMessage, message: Message) -> OutboundMessage | None:
        meta = message.meta
        user = str(meta.get("slack_user") or "")
        channel = meta.get("slack_channel")
        if meta.get("source") in ("dm", "mention") and channel:
            recipient, thread_ts = str(channel), meta.get("thread_ts")
        elif user:
            recipient, thread_ts = dm(user), None
        else:
            return None
        fields = payload_row(kind=f"reply-{reply.kind}", recipient=recipient, message=self.views.reply(reply),
                             thread_ts=thread_ts)
        return OutboundMessage(**fields, created_at=self.clock(), status="pending")

    def notice(self, text: str, *, message: Message) -> OutboundMessage:
        assert self.team_channel
        user = str(message.meta.get("slack_user") or "")
        rendered = self.views.message("team_notice", {"notice": text, "via": user if _USER_ID.match(user) else None})
        fields = payload_row(kind="notice", recipient=self.team_channel, message=rendered)
        return OutboundMessage(**fields, created_at=self.clock(), status="pending")

    def scheduled(self, post: Post) -> OutboundMessage:
        fields = payload_row(kind=post.kind, recipient=post.recipient, message=post.payload or {"text": post.subject})
        return OutboundMessage(**fields, send_key=post.send_key, created_at=post.now, status="pending")
