"""Email replies as RFC 5322 messages: rendered by intake.render, addressed to the
sender, threaded under their message, and marked as automatic so no loop can start."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from email.header import Header
from email.message import Message as MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from intake.parsing.confirmation_tokens import base_address, reply_address
from intake.messages import Message, Post, Reply
from intake.models import InboundMessage, OutboundMessage
from intake.render import Renderer


def compose(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    from_address: str,
    now: datetime,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    auto_submitted: str = "auto-replied",
) -> MIMEMessage:
    # The compat32 MIME classes: the same RFC 5322 output as EmailMessage, several times
    # faster, which matters when a reminder run composes thousands.
    message: MIMEMessage = MIMEMultipart("alternative") if html else MIMEText(text, "plain", "utf-8")
    if html:
        message.attach(MIMEText(text, "plain", "utf-8"))
        message.attach(MIMEText(html, "html", "utf-8"))
    message["From"] = _header(from_address)
    message["To"] = _header(to)
    message["Subject"] = Header(subject, "utf-8").encode() if not subject.isascii() else subject
    message["Date"] = format_datetime(now)
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = " ".join([*(references or []), in_reply_to][-10:])
    # RFC 3834: an automatic message; auto-responders must not answer it.
    message["Auto-Submitted"] = auto_submitted
    message["X-Auto-Response-Suppress"] = "All"
    return message


def _header(address: str) -> str:
    name, addr = parseaddr(address)
    if name and not name.isascii():
        return formataddr((str(Header(name, "utf-8")), addr))
    return formataddr((name, addr)) if name else addr


def answer_to(message: Message) -> str | None:
    """Where a reply goes: the Reply-To only when it is at the sender's own domain (an
    officer asking for answers to their team's mailbox); a Reply-To elsewhere would let
    anyone send our replies to a third party, so the From is answered instead."""
    sender, reply_to = message.sender, message.reply_to
    if reply_to and sender and _domain(reply_to) == _domain(sender):
        return reply_to
    return sender or None


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


SUBJECT_LENGTH = 200  # characters of their subject kept in ours: a header line has its limits


def reply_subject(original: str, fallback: str) -> str:
    original = " ".join(original.split())
    if not original:
        return fallback
    if len(original) > SUBJECT_LENGTH:
        original = original[:SUBJECT_LENGTH].rstrip() + "…"
    return original if original.lower().startswith("re:") else f"Re: {original}"


def attachment_facts(message: Message) -> dict[str, Any]:
    """What every reply says about the documents attached to the message it answers:
    which were read, and which were not and why (a scan: send the lines as text)."""
    return {
        "read": [a.name for a in message.attachments if not a.problem],
        "unread": [{"name": a.name, "problem": a.problem} for a in message.attachments if a.problem],
    }


class EmailReplies:
    """The email channel's composer: a Reply -> an outbound row addressed to the sender
    (Reply-To first) and threaded under their message; a scheduled Post -> a bulk one."""

    def __init__(
        self, renderer: Renderer, *, from_address: str, clock: Callable[[], datetime], intake_address: str = ""
    ) -> None:
        self.renderer = renderer
        self.from_address = from_address
        self.clock = clock
        # Where confirmations come back: eoi+confirm-<token>@ (see intake/parsing/confirmation_tokens.py).
        self.intake_address = intake_address or parseaddr(from_address)[1]

    def reply(self, reply: Reply, *, row: InboundMessage, message: Message) -> list[OutboundMessage]:
        to = reply.to or answer_to(message)
        if not to or self._ours(to):
            # Nobody to answer (no usable From), or our own address (a loop): the message
            # is kept all the same, and the team sees it.
            return []
        context = {**reply.context, "attachments": attachment_facts(message)}
        text, html = self.renderer.email(reply.kind, context)
        subject = reply_subject(message.subject, self.renderer.email_subject(reply.kind, context))
        now = self.clock()
        mail = compose(
            to=to,
            subject=subject,
            text=text,
            html=html,
            from_address=self.from_address,
            now=now,
            in_reply_to=message.message_id,
            references=[i for i in message.thread_ids if i != message.message_id],
        )
        return [OutboundMessage(
            kind=f"reply-{reply.kind}",
            channel="email",
            recipient=to,
            subject=subject,
            message_id=mail["Message-ID"],
            in_reply_to=message.message_id,
            body=mail.as_bytes(),
            created_at=now,
        )]

    def _ours(self, address: str) -> bool:
        """One of the service's own addresses (the From of its mail, the intake's, with
        any +tag): never a reply's destination."""
        own = {base_address(parseaddr(self.from_address)[1].lower()), base_address(self.intake_address.lower())}
        return base_address(address.lower()) in own

    def request(self, kind: str, context: dict[str, Any], *, to: str, token: str) -> OutboundMessage:
        """A confirmation request to the contact on record: a new conversation, whose
        reply comes back to a plus address carrying the token (and the token in the
        subject, for servers that drop the "+...")."""
        text, html = self.renderer.email(kind, context)
        subject = self.renderer.email_subject(kind, context)
        now = self.clock()
        mail = compose(
            to=to, subject=subject, text=text, html=html, from_address=self.from_address, now=now,
            auto_submitted="auto-generated",
        )
        mail["Reply-To"] = reply_address(self.intake_address, token)
        return OutboundMessage(
            kind=kind, channel="email", recipient=to, subject=subject, message_id=mail["Message-ID"],
            body=mail.as_bytes(), created_at=now,
        )

    def scheduled(self, post: Post) -> OutboundMessage:
        mail = compose(
            to=post.recipient, subject=post.subject, text=post.text, html=post.html,
            from_address=self.from_address, now=post.now, auto_submitted="auto-generated",
        )
        # Holiday auto-replies to a reminder would only come back to the intake address.
        mail["Precedence"] = "bulk"
        return OutboundMessage(
            send_key=post.send_key, kind=post.kind, channel="email", recipient=post.recipient,
            subject=post.subject, message_id=mail["Message-ID"], body=bytes(mail),
            created_at=post.now, status="pending",
        )
