"""The MIME side of reading a message, for intake.mail.extract.read_email: headers decoded
(RFC 2047, raw 8-bit bytes), the sender's mailbox, and the walk over the parts that gives
the body as (full text, new text): transfer encodings, charsets and format=flowed undone,
HTML converted by intake.mail.html_text, quoted history cut by intake.mail.quotes, attached
messages (message/rfc822) shown as forwards.

Pure (no I/O) and lenient: a header or part the stdlib cannot read is decoded by hand or
skipped; whatever still raises is caught by read_email.
"""
from __future__ import annotations

import codecs
import re
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr

from intake.mail.html_text import html_to_text
from intake.mail.quotes import is_forward, strip_quoted
from intake.mail.mail_text import join_blocks, normalise_newlines, normalise_space

FORWARD_MARKER = "---------- Forwarded message ---------"


# --- headers ----------------------------------------------------------------------------


def header_value(message: Message, name: str, defects: list[str]) -> str:
    """A header's decoded value, "" if absent; a header the default policy cannot parse
    is decoded by hand from its raw value rather than lost."""
    try:
        value = message.get(name)
        if value is None:
            return ""
        if not _garbled(str(value)):
            return str(value)
        # Raw 8-bit bytes: the stdlib gives up on them; Windows-1252 is the likely truth.
    except Exception:  # noqa: BLE001 - the stdlib raises many kinds on broken headers
        defects.append(f"unparseable {name} header")
    for key, raw in raw_items(message):
        if key.lower() == name:
            return _decode_words(raw)
    return ""


def _garbled(text: str) -> bool:
    """Replacement characters or undecoded (surrogate-escaped) bytes."""
    return any(ch == "\ufffd" or "\udc80" <= ch <= "\udcff" for ch in text)


def raw_items(message: Message) -> list[tuple[str, str]]:
    """(name, raw value) of every header, [] if the stdlib cannot list them."""
    try:
        return [(str(k), str(v)) for k, v in message.raw_items()]
    except Exception:  # noqa: BLE001
        return []


_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?([^?\s]*)\?=")


def _decode_words(value: str) -> str:
    """RFC 2047 decoding that survives unknown charsets, bad base64 and raw 8-bit bytes."""
    value = _unescape_8bit(value)
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001
        pass

    def one(match: re.Match[str]) -> str:
        charset, encoding, payload = match.groups()
        try:
            if encoding.lower() == "b":
                data = codecs.decode((payload + "===")[: len(payload) + (-len(payload) % 4)].encode(), "base64")
            else:
                data = codecs.decode(payload.replace("_", " ").encode(), "quopri")
        except Exception:  # noqa: BLE001
            return payload
        return decode_bytes(data, charset)

    return re.sub(r"(?<=\?=)\s+(?==\?)", "", _ENCODED_WORD.sub(one, value))


def _unescape_8bit(value: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes; read them as UTF-8 or cp1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"), None)


def mailbox(message: Message, name: str, defects: list[str]) -> tuple[str | None, str | None]:
    """(display name, lower-case addr-spec) of the first usable mailbox in a header.

    The address comes from the raw header, with its encoded words still encoded: a display
    name such as `=?utf-8?q?Sam=0D=0ABcc=3A_evil=40evil=2Etest?=` decodes to text that
    looks like another address, and must never become one. The name is decoded after,
    with any control characters (CR, LF) taken out."""
    raws = [raw for key, raw in raw_items(message) if key.lower() == name]
    if not raws:
        return None, None
    raw = _unescape_8bit(" ".join(raws[0].split()))
    try:
        pairs = getaddresses([raw]) or [parseaddr(raw)]
    except Exception:  # noqa: BLE001
        defects.append(f"unparseable {name} header")
        pairs = [parseaddr(raw)]
    if name == "from" and len([pair for pair in pairs if any(pair)]) > 1:
        # Two mailboxes, or "<a@council.gov.uk>@evil.test": no one sender can be proven.
        defects.append(AMBIGUOUS_FROM)
    for display, addr in pairs:
        addr = addr.strip()
        if "@" in addr and not _CONTROL.search(addr) and " " not in addr:
            return clean_name(display), addr.lower()
    defects.append(f"no usable address in {name}")
    return None, None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
AMBIGUOUS_FROM = "ambiguous from: more than one mailbox"


def clean_name(display: str) -> str | None:
    """A display name as text that is safe in any header: encoded words decoded, control
    characters (CR, LF, NUL...) as spaces, whitespace collapsed."""
    return normalise_space(_CONTROL.sub(" ", _decode_words(display))) or None


def parser_defects(message: Message) -> list[str]:
    """The names of the defects the stdlib parser noted in any part."""
    names: list[str] = []
    try:
        for part in message.walk():
            names.extend(type(defect).__name__ for defect in getattr(part, "defects", ()))
    except Exception:  # noqa: BLE001
        names.append("unwalkable MIME structure")
    return names


def content_type(part: Message) -> str:
    """Lower-case MIME type of a part; text/plain if it cannot be read."""
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        return "text/plain"


# --- body ---------------------------------------------------------------------------------


def body_text(message: Message, subject: str, defects: list[str]) -> tuple[str, str]:
    """(full text, new text) of a message or part, depth first."""
    kind = content_type(message)
    if kind in ("message/rfc822", "message/global"):
        inner = _first_payload(message)
        return _forwarded(inner, defects) if inner is not None else ("", "")
    if kind.startswith("multipart/") and isinstance(_payload(message), list):
        parts = [p for p in _payload(message) if isinstance(p, Message)]
        if kind == "multipart/alternative":
            return _alternative(parts, subject, defects)
        pieces = [body_text(part, subject, defects) for part in parts]
        return join_blocks(p[0] for p in pieces), join_blocks(p[1] for p in pieces)
    if kind == "text/html":
        return _html_content(_part_text(message), subject)
    if kind == "text/plain" or kind.startswith("multipart/") or _is_inline_text(message, kind):
        text = _part_text(message)
        return text, strip_quoted(text, subject=subject)
    return "", ""  # attachments that are not text: images, PDFs, delivery-status, calendars


def _alternative(parts: list[Message], subject: str, defects: list[str]) -> tuple[str, str]:
    """The plain-text version when it has any text (Outlook always sends one), else HTML."""
    rendered = [(content_type(part), body_text(part, subject, defects)) for part in parts]
    for kind, pair in rendered:
        if kind == "text/plain" and pair[0].strip():
            return pair
    for _, pair in reversed(rendered):  # the last alternative is the richest
        if pair[0].strip():
            return pair
    return "", ""


def _forwarded(inner: Message, defects: list[str]) -> tuple[str, str]:
    """An attached message (message/rfc822): it is the thing being forwarded, so its own
    new text is part of the new text of the message carrying it."""
    subject = normalise_space(header_value(inner, "subject", defects))
    name, address = mailbox(inner, "from", defects)
    who = f"{name} <{address}>" if name and address else (address or name or "")
    head = "\n".join(
        [FORWARD_MARKER, *([f"From: {who}"] if who else []), *([f"Subject: {subject}"] if subject else [])]
    )
    full, new = body_text(inner, subject, defects)
    return f"{head}\n\n{full}", f"{head}\n\n{new}"


def _html_content(html: str, subject: str) -> tuple[str, str]:
    """An HTML part: its new text comes from the HTML with its quote blocks dropped,
    unless the message is a forward, whose quoted part is the submission."""
    full = html_to_text(html)
    forward = is_forward(subject, full)
    new = full if forward else html_to_text(html, drop_quotes=True)
    return full, strip_quoted(new, subject=subject)


def _is_inline_text(part: Message, kind: str) -> bool:
    """Odd text/* parts shown inline (text/x-*, text/enriched) count; text attachments that
    are data (calendars, vCards, CSV) do not."""
    if not kind.startswith("text/") or kind in ("text/calendar", "text/x-vcard", "text/vcard",
                                                "text/csv", "text/rfc822-headers"):
        return False
    try:
        return part.get_content_disposition() != "attachment"
    except Exception:  # noqa: BLE001
        return False


def _payload(part: Message) -> object:
    try:
        return part.get_payload()
    except Exception:  # noqa: BLE001
        return None


def _first_payload(part: Message) -> Message | None:
    payload = _payload(part)
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, Message):
        return payload
    return None


# --- one part's text ------------------------------------------------------------------


def _part_text(part: Message) -> str:
    """A leaf part's text: transfer encoding undone, charset decoded, format=flowed joined."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        data = None
    if data is None:
        payload = _payload(part)
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        charset = None
    text = normalise_newlines(decode_bytes(data, charset))
    if _param(part, "format").lower() == "flowed":
        text = _unflow(text, delsp=_param(part, "delsp").lower() == "yes")
    return text


def _param(part: Message, name: str) -> str:
    try:
        return str(part.get_param(name) or "")
    except Exception:  # noqa: BLE001
        return ""


_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
                    "us-ascii": "utf-8", "ascii": "utf-8", "ks_c_5601-1987": "cp949",
                    "gb2312": "gb18030", "gbk": "gb18030", "unknown-8bit": "utf-8"}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset when Python knows it; otherwise (or when it is
    plainly wrong) UTF-8, then Windows-1252, which maps nearly every byte."""
    name = (charset or "").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    if name:
        try:
            codecs.lookup(name)
            if name == "utf-8":
                return data.decode("utf-8")
            return data.decode(name, errors="replace")
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676: a line ending in a space continues on the next line of the same quote
    depth (so "> Hi " does not swallow the unquoted reply below it)."""
    out: list[str] = []
    carry: tuple[int, str] | None = None  # (quote depth, text so far)
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if carry is not None and carry[0] != depth:
            out.append(">" * carry[0] + (" " if carry[0] else "") + carry[1])
            carry = None
        joined = (carry[1] if carry else "") + content
        if content.endswith(" ") and content.strip() != "--":
            carry = (depth, joined[:-1] if delsp else joined)
            continue
        out.append(">" * depth + (" " if depth else "") + joined)
        carry = None
    if carry is not None:
        out.append(">" * carry[0] + (" " if carry[0] else "") + carry[1])
    return "\n".join(out)
