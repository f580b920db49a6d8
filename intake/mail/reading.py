"""The email channel's reader for the pipeline: a kept email row back into a `Message`
(headers decoded, text extracted, quoted history dropped, machines' mail recognised)."""
from __future__ import annotations

from intake.confirmations import find_token
from intake.mail.extract import read_email
from intake.mail.mime import AMBIGUOUS_FROM
from intake.messages import storable
from intake.models import InboundMessage
from intake.messages import AttachedFile, Message


# Longer than RFC 5322 allows a header line (a Message-ID) or RFC 5321 an address: not
# one, and more than the columns that keep them can hold.
MESSAGE_ID_LENGTH = 998
ADDRESS_LENGTH = 320


def _within(value: str | None, length: int) -> str | None:
    value = storable(value)
    return value if value and len(value) <= length else None


def read_email_row(row: InboundMessage) -> Message:
    meta = row.meta or {}
    content = read_email(row.raw, envelope_from=meta.get("envelope_from"))
    return Message(
        channel="email",
        sender=_within(content.sender, ADDRESS_LENGTH) or row.sender,
        reply_to=_within(content.reply_to, ADDRESS_LENGTH),
        subject=storable(content.subject) or "",
        text=storable(content.new_text) or "",
        message_id=_within(content.message_id, MESSAGE_ID_LENGTH),
        thread_ids=tuple(t for i in (content.in_reply_to, *content.references) if (t := _within(i, MESSAGE_ID_LENGTH))),
        automatic=content.automatic,
        meta=meta,
        # A reply to a confirmation request: the token is in the plus address we gave as
        # Reply-To, or in the subject when a mail server dropped the "+...".
        confirms=find_token([*meta.get("rcpt_tos", []), content.subject]),
        bounced=content.bounced,
        sender_name=storable(content.sender_name),
        signature=storable(content.signature) or "",
        sender_doubtful=AMBIGUOUS_FROM in content.defects,
        no_auto_replies=content.no_replies,
        attachments=tuple(AttachedFile(a.name, a.problem) for a in content.attachments),
    )
