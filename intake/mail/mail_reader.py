"""The email channel's readers: a kept email row back into a `Message` (headers decoded,
text extracted, quoted history dropped, machines' mail recognised).

Two of them. `read_email_row` is quick and opens no attached document: the team's pages
and the team's replies use it. `EmailReader` is the pipeline's: the documents attached are
opened by worker processes (intake/mail/pool.py) and the whole reading runs on a thread
of its own, so the event loop never waits for what a stranger attached.
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from intake.parsing.confirmation_tokens import find_token
from intake.mail.attachments import Attachment, DocumentFile
from intake.mail.extract import EmailContent, read_email
from intake.mail.mime import AMBIGUOUS_FROM
from intake.mail.pool import DocumentPool
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
    """The message without the text of its attached documents: none is opened."""
    meta = row.meta or {}
    return _message(row, read_email(row.raw, envelope_from=meta.get("envelope_from"), open_documents=_unopened))


class EmailReader:
    """The pipeline's reader: the message with the text of the documents attached to it,
    each opened in a worker process within its limits."""

    def __init__(self, pool: DocumentPool, *, threads: int = 4) -> None:
        self.pool = pool
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None

    async def __call__(self, row: InboundMessage) -> Message:
        meta = row.meta or {}
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="cib-reading")
        content = await asyncio.get_running_loop().run_in_executor(
            self._executor, partial(read_email, row.raw, envelope_from=meta.get("envelope_from"),
                                    open_documents=self.pool.open),
        )
        return _message(row, content)

    def start(self) -> None:
        """Start the pool's workers (blocks for a second or so the first time)."""
        self.pool.start()

    def close(self) -> None:
        self.pool.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _unopened(files: Sequence[DocumentFile]) -> list[list[Attachment]]:
    return [[] for _ in files]


def _message(row: InboundMessage, content: EmailContent) -> Message:
    meta = row.meta or {}
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
