"""The Slack channel's composer: a core reply, a team notice or a scheduled post as an
outbound row, for the Slack carrier (`bot/posting.py`) to post.

A reply goes where the message came from: the same thread for a direct message or a
mention, the user's direct messages for a command or a form. A mention's answer that
holds anything about anyone goes to the asker's direct messages, with a note in the
thread; only answers in `PUBLIC_KINDS` are given in the channel. A reply or a notice is
recorded as what to say (the template and its data); the carrier renders it when it
posts, so no rendering happens inside the transaction that recorded it. A reminder or
digest arrives rendered and is recorded as it is.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from bot.posting import Say, dm, slack_row
from intake.messages import Message, Notice, Post, Reply
from intake.models import InboundMessage, OutboundMessage

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# Answers that hold nothing about anyone: given in the channel a mention came from.
PUBLIC_KINDS = frozenset({"help", "deadlines", "deadline", "form", "hint", "leads"})


class SlackReplies:
    def __init__(self, *, team_channel: str | None, clock: Callable[[], datetime]) -> None:
        self.team_channel = team_channel
        self.clock = clock

    def reply(self, reply: Reply, *, row: InboundMessage, message: Message) -> list[OutboundMessage]:
        meta = message.meta
        user = str(meta.get("slack_user") or "")
        channel = meta.get("slack_channel")
        now = self.clock()
        # A mention is always in a channel: in a DM the message event answers (bot/events.py).
        if meta.get("source") == "mention" and channel and user and reply.kind not in PUBLIC_KINDS:
            # Asked in a channel: what we hold (names, email addresses, entries) goes to
            # the asker privately; the channel only hears where the answer went.
            note = Say(view="in_channel", context={"user": user}, thread_ts=meta.get("thread_ts"))
            private = Say(reply=reply.kind, context=reply.context)
            return [
                slack_row(kind=f"reply-{reply.kind}", recipient=dm(user), say=private, subject=reply.kind, now=now),
                slack_row(kind="reply-in_channel", recipient=str(channel), say=note, subject=reply.kind, now=now),
            ]
        if meta.get("source") in ("dm", "mention") and channel:
            recipient, thread_ts = str(channel), meta.get("thread_ts")
        elif user:
            recipient, thread_ts = dm(user), None
        else:
            return []
        say = Say(reply=reply.kind, context=reply.context, thread_ts=thread_ts)
        return [slack_row(kind=f"reply-{reply.kind}", recipient=recipient, say=say, subject=reply.kind, now=now)]

    def notice(self, notice: Notice, *, message: Message) -> OutboundMessage:
        """The team channel's notice; an unverified entry it reports gets Verify and
        Reject buttons (bot.team_actions answers them)."""
        assert self.team_channel
        user = str(message.meta.get("slack_user") or "")
        context = {"notice": notice.text, "via": user if _USER_ID.match(user) else None}
        if notice.unverified:
            context["unverified"] = list(notice.unverified)
        say = Say(view="team_notice", context=context)
        return slack_row(kind="notice", recipient=self.team_channel, say=say, subject=notice.text, now=self.clock())

    def scheduled(self, post: Post) -> OutboundMessage:
        say = Say(message=post.payload or {"text": post.subject})
        row = slack_row(kind=post.kind, recipient=post.recipient, say=say, subject=post.subject, now=post.now)
        row.send_key = post.send_key
        return row
