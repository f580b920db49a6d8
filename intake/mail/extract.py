"""Raw RFC 5322 bytes in, what the service needs out: who sent it, what it is in reply to,
the readable text, the part of it the sender wrote now, and whether a machine sent it.

Sits between the SMTP handler (which keeps the raw bytes first) and intake.parsing (which
reads `new_text`). Pure and total: any input, however broken, gives an EmailContent, never
an exception, because a message we cannot read is still a message we must keep and show.

read_email composes the other modules: intake.mail.mime for the headers and the body (which
uses intake.mail.html_text and intake.mail.quotes), intake.mail.automatic for machine-sent
mail, intake.mail.attachments for attached documents. Those it hands to `open_documents`:
opened in this process by default; the service's reader (intake.mail.mail_reader) passes one
that opens them in worker processes with limits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser

from intake.mail.attachments import Attachment, DocumentFile, Opener, read_attachments
from intake.mail.automatic import automatic_reason, bounced_recipients, suppresses_replies
from intake.mail.document_limits import MAX_TEXT
from intake.mail.quotes import own_signature, strip_quoted
from intake.mail.mime import body_text, decode_bytes, header_value, mailbox, parser_defects
from intake.mail.mail_text import normalise_newlines, normalise_space, tidy
from intake.parsing.attached_documents import document_heading


@dataclass(frozen=True)
class EmailContent:
    subject: str  # decoded (RFC 2047), whitespace-normalised, "" if none
    sender: str | None  # From addr-spec, lower-case; None if unparseable/missing
    sender_name: str | None  # From display name, decoded
    reply_to: str | None
    message_id: str | None  # with angle brackets as in the header, whitespace removed
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str  # the whole readable body as plain text (HTML converted; forwards included)
    new_text: str  # `text` minus quoted reply history and signatures (forwards kept)
    automatic: str | None  # None for a person's mail, else a short reason
    defects: tuple[str, ...]  # parser defects, for the record
    bounced: tuple[str, ...] = ()  # a bounce: the addresses our mail did not reach
    signature: str = ""  # the sign-off block cut from new_text (a name and role may be in it)
    no_replies: bool = False  # the sender asked for no automatic replies (X-Auto-Response-Suppress)
    attachments: tuple[Attachment, ...] = ()  # attached documents, read or with why not


def read_email(
    raw: bytes, *, envelope_from: str | None = None, open_documents: Opener | None = None
) -> EmailContent:
    """Read one message. `envelope_from` is the SMTP MAIL FROM ("" or "<>" = null path).
    `open_documents` opens the documents attached (in this process when None)."""
    try:
        return _read(raw, envelope_from, open_documents)
    except Exception as error:  # noqa: BLE001 - last resort: keep what we can, never raise
        text = normalise_newlines(decode_bytes(raw if isinstance(raw, bytes) else b"", None))
        return EmailContent(
            subject="", sender=None, sender_name=None, reply_to=None, message_id=None,
            in_reply_to=None, references=(), text=text.strip(), new_text=text.strip(),
            automatic=None, defects=(f"unreadable: {type(error).__name__}",),
        )


def _read(raw: bytes, envelope_from: str | None, open_documents: Opener | None) -> EmailContent:
    try:
        return _read_parts(raw, envelope_from, open_documents)
    except RecursionError:
        # Nested deeper than the stdlib's parser can recurse (thousands of levels): still
        # a message with a sender, a subject and, somewhere, text.
        return _read_flat(raw, envelope_from)


def _read_parts(raw: bytes, envelope_from: str | None, open_documents: Opener | None) -> EmailContent:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    defects: list[str] = []
    subject = normalise_space(header_value(message, "subject", defects))
    sender_name, sender = mailbox(message, "from", defects)
    _, reply_to = mailbox(message, "reply-to", defects)
    full, new = body_text(message, subject, defects)
    attached = tuple(read_attachments(document_files(message), open_documents))
    # An attachment's text is read after the body's, so a line the sender wrote in the
    # body wins over the same label in a form attached to it.
    documents = "\n\n".join(f"{document_heading(a.name)}\n{a.text}" for a in attached if a.read)[:MAX_TEXT]
    if documents:
        full, new = f"{full}\n\n{documents}", f"{new}\n\n{documents}"
    return EmailContent(
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        message_id=_msg_id(header_value(message, "message-id", defects)),
        in_reply_to=_msg_id(header_value(message, "in-reply-to", defects)),
        references=tuple(_msg_ids(header_value(message, "references", defects))),
        text=tidy(full),
        new_text=tidy(new),
        automatic=(automatic := automatic_reason(message, subject, sender, envelope_from, defects)),
        defects=tuple(dict.fromkeys([*parser_defects(message), *defects])),
        bounced=bounced_recipients(message) if automatic else (),
        signature=own_signature(full, subject=subject),
        no_replies=suppresses_replies(message, defects),
        attachments=attached,
    )


def document_files(message: Message) -> list[DocumentFile]:
    """Every attached file that may be a document we read (Word, PDF, Excel, Outlook,
    winmail.dat), in order, unopened."""
    found: list[DocumentFile] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        kind = part.get_content_type()
        if not name and part.get_content_disposition() != "attachment":
            continue
        if kind in ("text/plain", "text/html") and not name.lower().endswith((".docx", ".pdf", ".xlsx")):
            continue
        payload = part.get_payload(decode=True)
        found.append(DocumentFile(name or "attachment", kind, payload if isinstance(payload, bytes) else b""))
    return found


def _read_flat(raw: bytes, envelope_from: str | None) -> EmailContent:
    """The headers, and the first text/plain part found in the raw bytes, without walking
    the MIME tree."""
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    defects = ["nested too deeply to walk: read from its headers and its first text part"]
    subject = normalise_space(header_value(message, "subject", defects))
    sender_name, sender = mailbox(message, "from", defects)
    _, reply_to = mailbox(message, "reply-to", defects)
    text = _first_text_part(raw)
    return EmailContent(
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        message_id=_msg_id(header_value(message, "message-id", defects)),
        in_reply_to=_msg_id(header_value(message, "in-reply-to", defects)),
        references=tuple(_msg_ids(header_value(message, "references", defects))),
        text=tidy(text),
        new_text=tidy(strip_quoted(text, subject=subject)),
        automatic=automatic_reason(message, subject, sender, envelope_from, defects),
        defects=tuple(defects),
        signature=own_signature(text, subject=subject),
        no_replies=suppresses_replies(message, defects),
    )


_TEXT_PART = re.compile(rb"^content-type:[ \t]*text/plain\b", re.IGNORECASE | re.MULTILINE)


def _first_text_part(raw: bytes) -> str:
    """The first text/plain part: from the boundary line before its Content-Type header to
    the next boundary line, read as a message of its own (transfer encoding and charset)."""
    found = _TEXT_PART.search(raw, raw.find(b"\n\n") + 1 if b"\n\n" in raw else 0)
    if found is None:
        return ""
    start = raw.rfind(b"\n--", 0, found.start())
    start = raw.find(b"\n", start + 1) + 1 if start >= 0 else found.start()
    end = raw.find(b"\n--", found.end())
    leaf = BytesParser(policy=policy.default).parsebytes(raw[start: end if end >= 0 else len(raw)])
    try:
        return normalise_newlines(str(leaf.get_content()))
    except Exception:  # noqa: BLE001 - an unknown charset or a broken encoding: best effort
        payload = leaf.get_payload(decode=True)
        return normalise_newlines(decode_bytes(payload if isinstance(payload, bytes) else b"", None))


def _msg_id(value: str) -> str | None:
    value = "".join(value.split())
    return value or None


def _msg_ids(value: str) -> list[str]:
    found = re.findall(r"<[^<>]+>", value)
    return ["".join(item.split()) for item in found] if found else value.split()
