"""The email channel's reader for the pipeline: a kept email row back into a `Message`
(headers decoded, text extracted, quoted history dropped, machines' mail recognised)."""
from __future__ import annotations

from intake.confirmations import find_token
from intake.mail.extract import read_email
from intake.mail.mime import AMBIGUOUS_FROM
from intake.messages import storable
from intake.models import InboundMessage
from intake.messages import AttachedFile, Message


def read_email_row(row: InboundMessage) -> Message:
    meta = row.meta or {}
    content = read_email(row.raw, envelope_from=meta.get("envelope_from"))
    return Message(
        channel="email",
        sender=storable(content.sender) or row.sender,
        reply_to=storable(content.reply_to),
        subject=storable(content.subject) or "",
        text=storable(content.new_text) or "",
        message_id=content.message_id,
        thread_ids=tuple(i for i in (content.in_reply_to, *content.references) if i),
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
