"""Raw RFC 5322 bytes in, what the service needs out: who sent it, what it is in reply to,
the readable text, the part of it the sender wrote now, and whether a machine sent it.

Sits between the SMTP handler (which keeps the raw bytes first) and intake.parsing (which
reads `new_text`). Pure and total: any input, however broken, gives an EmailContent, never
an exception, because a message we cannot read is still a message we must keep and show.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

FORWARD_MARKER = "---------- Forwarded message ---------"


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


def read_email(raw: bytes, *, envelope_from: str | None = None) -> EmailContent:
    """Read one message. `envelope_from` is the SMTP MAIL FROM ("" or "<>" = null path)."""
    try:
        return _read(raw, envelope_from)
    except Exception as error:  # noqa: BLE001 - last resort: keep what we can, never raise
        text = _normalise_newlines(_decode_bytes(raw if isinstance(raw, bytes) else b"", None))
        return EmailContent(
            subject="", sender=None, sender_name=None, reply_to=None, message_id=None,
            in_reply_to=None, references=(), text=text.strip(), new_text=text.strip(),
            automatic=None, defects=(f"unreadable: {type(error).__name__}",),
        )


def _read(raw: bytes, envelope_from: str | None) -> EmailContent:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    defects: list[str] = []
    subject = _normalise_space(_header(message, "subject", defects))
    sender_name, sender = _address(message, "from", defects)
    _, reply_to = _address(message, "reply-to", defects)
    full, new = _content(message, subject, defects)
    return EmailContent(
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        message_id=_msg_id(_header(message, "message-id", defects)),
        in_reply_to=_msg_id(_header(message, "in-reply-to", defects)),
        references=tuple(_msg_ids(_header(message, "references", defects))),
        text=_tidy(full),
        new_text=_tidy(new),
        automatic=_automatic(message, subject, sender, envelope_from, defects),
        defects=tuple(dict.fromkeys([*_defects(message), *defects])),
    )


# --- headers ----------------------------------------------------------------------------


def _header(message: Message, name: str, defects: list[str]) -> str:
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
    for key, raw in _raw_items(message):
        if key.lower() == name:
            return _decode_words(raw)
    return ""


def _garbled(text: str) -> bool:
    """Replacement characters or undecoded (surrogate-escaped) bytes."""
    return any(ch == "\ufffd" or "\udc80" <= ch <= "\udcff" for ch in text)


def _raw_items(message: Message) -> list[tuple[str, str]]:
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
        return _decode_bytes(data, charset)

    return re.sub(r"(?<=\?=)\s+(?==\?)", "", _ENCODED_WORD.sub(one, value))


def _unescape_8bit(value: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes; read them as UTF-8 or cp1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return _decode_bytes(value.encode("utf-8", "surrogateescape"), None)


def _address(message: Message, name: str, defects: list[str]) -> tuple[str | None, str | None]:
    """(display name, lower-case addr-spec) of the first usable mailbox in a header."""
    try:
        header = message.get(name)
        for address in getattr(header, "addresses", ()) or ():
            if "@" in (address.addr_spec or ""):
                display = address.display_name or ""
                if _garbled(display):  # raw 8-bit name: decode it from the raw header
                    display = parseaddr(_header(message, name, defects))[0]
                return (_normalise_space(display) or None), address.addr_spec.lower()
    except Exception:  # noqa: BLE001
        defects.append(f"unparseable {name} header")
    raw = _header(message, name, defects)
    for display, addr in getaddresses([raw]) or [parseaddr(raw)]:
        if "@" in addr:
            return (_normalise_space(display) or None), addr.strip().lower()
    return None, None


def _msg_id(value: str) -> str | None:
    value = "".join(value.split())
    return value or None


def _msg_ids(value: str) -> list[str]:
    found = re.findall(r"<[^<>]+>", value)
    return ["".join(item.split()) for item in found] if found else value.split()


def _defects(message: Message) -> list[str]:
    names: list[str] = []
    try:
        for part in message.walk():
            names.extend(type(defect).__name__ for defect in getattr(part, "defects", ()))
    except Exception:  # noqa: BLE001
        names.append("unwalkable MIME structure")
    return names


# --- automatic mail (RFC 3834 and friends) ------------------------------------------------

_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(?:matic)?[- ]?reply|autoreply|auto[- ]?response|out of (?:the )?office"
    r"(?: reply| autoreply)?)\s*:",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliverable|undelivered mail|delivery status notification|mail delivery failed"
    r"|returned mail|failure notice|delivery failure|non-delivery|mail system error"
    r"|delivery has failed|message delivery failure)",
    re.IGNORECASE,
)
_MACHINE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)


def _automatic(
    message: Message, subject: str, sender: str | None, envelope_from: str | None,
    defects: list[str],
) -> str | None:
    """Why this mail was sent by a machine, or None. Answering any of these could start a
    mail loop, so the checks err on the side of "automatic"."""
    names = {key.lower() for key, _ in _raw_items(message)}
    auto_submitted = _header(message, "auto-submitted", defects).strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"auto-submitted: {auto_submitted.split(';')[0].strip()}"
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "null return path"
    if "return-path" in names and _header(message, "return-path", defects).strip() in ("<>", ""):
        return "null return path"
    if _content_type(message) in ("multipart/report", "message/delivery-status",
                                  "message/disposition-notification"):
        return "delivery status notification"
    if _MACHINE_SENDER.match(sender or ""):
        return "delivery status notification"
    precedence = _header(message, "precedence", defects).strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return f"precedence: {precedence}"
    if any(name.startswith("list-") for name in names):
        return "mailing list"
    if names & {"x-autoreply", "x-autorespond", "x-autoresponse", "x-autogenerated",
                "x-mail-autoreply", "x-autoreply-from"}:
        return "auto-reply"
    if _header(message, "x-apple-action", defects).strip().lower() == "vacation":
        return "auto-reply"
    if _AUTO_SUBJECT.match(subject):
        return "auto-reply"
    if "x-failed-recipients" in names or _BOUNCE_SUBJECT.match(subject):
        return "delivery status notification"
    return None


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        return "text/plain"


# --- body ---------------------------------------------------------------------------------


def _content(message: Message, subject: str, defects: list[str]) -> tuple[str, str]:
    """(full text, new text) of a message or part, depth first."""
    kind = _content_type(message)
    if kind in ("message/rfc822", "message/global"):
        inner = _first_payload(message)
        return _forwarded(inner, defects) if inner is not None else ("", "")
    if kind.startswith("multipart/") and isinstance(_payload(message), list):
        parts = [p for p in _payload(message) if isinstance(p, Message)]
        if kind == "multipart/alternative":
            return _alternative(parts, subject, defects)
        pieces = [_content(part, subject, defects) for part in parts]
        return _join(p[0] for p in pieces), _join(p[1] for p in pieces)
    if kind == "text/html":
        return _html_content(_part_text(message), subject)
    if kind == "text/plain" or kind.startswith("multipart/") or _is_inline_text(message, kind):
        text = _part_text(message)
        return text, strip_quoted(text, subject=subject)
    return "", ""  # attachments that are not text: images, PDFs, delivery-status, calendars


def _alternative(parts: list[Message], subject: str, defects: list[str]) -> tuple[str, str]:
    """The plain-text version when it has any text (Outlook always sends one), else HTML."""
    rendered = [(_content_type(part), _content(part, subject, defects)) for part in parts]
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
    subject = _normalise_space(_header(inner, "subject", defects))
    name, address = _address(inner, "from", defects)
    who = f"{name} <{address}>" if name and address else (address or name or "")
    head = "\n".join(
        [FORWARD_MARKER, *([f"From: {who}"] if who else []), *([f"Subject: {subject}"] if subject else [])]
    )
    full, new = _content(inner, subject, defects)
    return f"{head}\n\n{full}", f"{head}\n\n{new}"


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
    text = _normalise_newlines(_decode_bytes(data, charset))
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


def _decode_bytes(data: bytes, charset: str | None) -> str:
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


# --- HTML -----------------------------------------------------------------------------------

_DROP_TAGS = ("style", "script", "head", "title", "meta", "link", "xml", "o:p", "template")
_BLOCK_TAGS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 ul ol li table thead tbody tfoot tr blockquote pre hr section article "
    "header footer dl dt dd address center form fieldset body html caption figure".split()
)


def _html_content(html: str, subject: str) -> tuple[str, str]:
    full = html_to_text(html)
    forward = is_forward(subject, full)
    new = full if forward else html_to_text(html, drop_quotes=True)
    return full, strip_quoted(new, subject=subject)


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """Readable text from an HTML body: blocks and <br> as line breaks, two-column table
    rows as `label: value` lines (councils' forms), Outlook and Word noise removed.
    With `drop_quotes`, Gmail/Apple quote blocks and everything from Outlook's reply
    header onwards are left out."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    if drop_quotes:
        _drop_quotes(soup)
    out: list[str] = []
    _render(soup, out)
    return _tidy("\n".join(line.strip() for line in "".join(out).split("\n")))


def _drop_quotes(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(["blockquote"]) + soup.find_all(class_=re.compile(r"gmail_quote|yahoo_quoted|moz-cite-prefix")):
        if not tag.decomposed:
            tag.decompose()
    start = soup.find(id=re.compile(r"^(divRplyFwdMsg|appendonsend|x_divRplyFwdMsg)$")) or _outlook_border_div(soup)
    if start is None:
        return
    _drop_from(start)


def _outlook_border_div(soup: BeautifulSoup) -> Tag | None:
    """Outlook desktop's reply header: a div with a top border holding a bold "From:"."""
    for div in soup.find_all("div", style=re.compile(r"border-top\s*:\s*solid", re.IGNORECASE)):
        if re.match(r"\s*From\s*:", div.get_text(" ")):
            return div
    return None


def _drop_from(start: Tag) -> None:
    """Remove `start` and everything after it in document order."""
    node: Tag | None = start
    while node is not None and node.name not in ("body", "html", "[document]"):
        for sibling in list(node.next_siblings):
            sibling.extract()
        parent = node.parent
        if node is start:
            node.extract()
        node = parent


def _render(node: Tag, out: list[str], *, pre: bool = False) -> None:
    for child in node.children:
        if isinstance(child, (Comment, Declaration, Doctype, ProcessingInstruction)):
            continue
        if isinstance(child, NavigableString):
            text = str(child).replace("\xa0", " ")
            out.append(text if pre else re.sub(r"\s+", " ", text))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name == "br":
            out.append("\n")
        elif name == "tr" and child.find("table") is None:
            out.append("\n" + _row_text(child) + "\n")
        elif name in ("td", "th"):
            _render(child, out, pre=pre)
            out.append("\t")
        elif name == "li":
            out.append("\n• ")
            _render(child, out, pre=pre)
            out.append("\n")
        elif name in _BLOCK_TAGS:
            out.append("\n")
            _render(child, out, pre=pre or name == "pre")
            out.append("\n")
        else:
            _render(child, out, pre=pre)


def _row_text(row: Tag) -> str:
    """`label: value` for a form row; other rows keep their cells apart with tabs."""
    cells = []
    for cell in row.find_all(["td", "th"], recursive=False):
        parts: list[str] = []
        _render(cell, parts)
        cells.append(" ".join("".join(parts).split()))
    cells = [c for c in cells if c] if len(cells) > 2 else cells
    if len(cells) == 2 and cells[0] and cells[1]:
        return f"{cells[0].rstrip(':').rstrip()}: {cells[1]}"
    return "\t".join(c for c in cells if c)


# --- quoted history and signatures ---------------------------------------------------------

_FW_SUBJECT = re.compile(r"^\s*(fwd?|fw)\s*:", re.IGNORECASE)
_FORWARD_LINE = re.compile(
    r"^\s*(-{2,}\s*forwarded message\s*-{2,}|begin forwarded message\s*:|-{2,}\s*forwarded message\s*-*"
    r"|-{3,}\s*forwarded by .*)\s*$",
    re.IGNORECASE,
)
_ORIGINAL_LINE = re.compile(r"^\s*-{2,}\s*original message\s*-{2,}\s*$", re.IGNORECASE)
_RULE_LINE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_LINE = re.compile(r"^\s*[*>]*\s*\**(from|sent|date|to|cc|subject)\s*:\**", re.IGNORECASE)
_FROM_LINE = re.compile(r"^\s*\**\s*from\s*:\**\s*\S", re.IGNORECASE)
_ON_WROTE = re.compile(r"^\s*-*\s*on\b.{0,300}\bwrote\s*:\s*$", re.IGNORECASE | re.DOTALL)
_WROTE_END = re.compile(r"\bwrote\s*:\s*$", re.IGNORECASE)
_SIG_DASHES = re.compile(r"^--\s?$")
_SENT_FROM = re.compile(
    r"^\s*(sent from my \w+|sent from (outlook|mail for windows|yahoo mail|samsung)|get outlook for (ios|android))",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^\s*(kind(est)? regards|best regards|warm(est)? regards|regards|best wishes|many thanks"
    r"|thanks( again| very much)?|thank you( very much)?|with thanks|best|cheers|yours (sincerely|faithfully))"
    r"\s*[,.!]?\s*$",
    re.IGNORECASE,
)
# Signatures are full of "Head of Service – Children's Centres"; only a colon or a tab
# marks a form label there.
_LABEL_LINE = re.compile(r"^\W*([A-Za-z][A-Za-z'’ ./&()-]{0,50}?)\s*(:|\t)\s*\S")
_SIGNATURE_KEYS = frozenset(
    "t tel telephone phone mobile mob m e email e-mail w web website fax address dd direct dial "
    "direct line ext switchboard twitter x linkedin pronouns office teams".split()
)


def is_forward(subject: str, text: str) -> bool:
    """A forward: FW:/Fwd: subject, or a forward marker before any reply marker."""
    if _FW_SUBJECT.match(subject or ""):
        return True
    lines = text.split("\n")
    for index in range(len(lines)):
        if _FORWARD_LINE.match(lines[index]):
            return True
        if _reply_marker(lines, index):
            return False
    return False


def strip_quoted(text: str, *, subject: str = "") -> str:
    """What the sender wrote now: reply history and signatures removed, forwarded messages
    kept (with their own quoted history removed), because a forward is the submission."""
    lines = _normalise_newlines(text).split("\n")
    forwarding = bool(_FW_SUBJECT.match(subject or ""))
    kept: list[str] = []
    section: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        explicit_forward = bool(_FORWARD_LINE.match(line))
        marker = explicit_forward or _reply_marker(lines, index)
        if not marker:
            section.append(line)
            index += 1
            continue
        if not (explicit_forward or forwarding) and _quote_follows(lines, index):
            # "On … wrote:" over `>` lines: drop the attribution, keep reading, so that
            # answers written below or between the quotes are kept.
            index = _after_attribution(lines, index)
            continue
        kept.extend(_clean_section(section))
        section = []
        if not (explicit_forward or forwarding):
            break  # a reply: the rest is history
        header, index = _take_header(lines, index)
        kept.extend(header)
        header_subject = next((h.split(":", 1)[1] for h in header if re.match(r"\W*subject\s*:", h, re.I)), "")
        forwarding = bool(_FW_SUBJECT.match(header_subject.strip(" *")))
    else:
        kept.extend(_clean_section(section))
    return _tidy("\n".join(kept))


def _reply_marker(lines: list[str], index: int) -> bool:
    """Does a quoted-history header start at lines[index]?"""
    line = lines[index]
    if _ORIGINAL_LINE.match(line):
        return True
    if _RULE_LINE.match(line):
        following = [l for l in lines[index + 1: index + 4] if l.strip()]
        return bool(following) and bool(_FROM_LINE.match(following[0]))
    if _FROM_LINE.match(line):
        window = lines[index + 1: index + 8]
        names = {m.group(1).lower() for l in window if (m := _HEADER_LINE.match(l))}
        return ("sent" in names or "date" in names) and bool(names & {"to", "subject"})
    if re.match(r"^\s*-*\s*on\b", line, re.IGNORECASE):
        for size in (1, 2, 3):
            joined = " ".join(l.strip() for l in lines[index: index + size])
            if _ON_WROTE.match(joined):
                return True
            if _WROTE_END.search(joined):
                return False
    return False


def _after_attribution(lines: list[str], index: int) -> int:
    """The index just past an "On … wrote:" line (which may be wrapped over three)."""
    for size in (1, 2, 3):
        if _WROTE_END.search(" ".join(l.strip() for l in lines[index: index + size])):
            return index + size
    return index + 1


def _quote_follows(lines: list[str], index: int) -> bool:
    """Is lines[index] an "On … wrote:" attribution followed by `>`-quoted lines?"""
    if not re.match(r"^\s*-*\s*on\b", lines[index], re.IGNORECASE):
        return False
    rest = [l for l in lines[_after_attribution(lines, index):] if l.strip()]
    return bool(rest) and rest[0].lstrip().startswith(">")


def _take_header(lines: list[str], index: int) -> tuple[list[str], int]:
    """The marker line and the forwarded message's header block that follows it."""
    header = [lines[index]]
    index += 1
    while index < len(lines) and not lines[index].strip():
        index += 1
    while index < len(lines) and (_HEADER_LINE.match(lines[index]) or (
        lines[index].startswith((" ", "\t")) and lines[index].strip() and header
    )):
        header.append(lines[index])
        index += 1
    return header, index


def _clean_section(lines: list[str]) -> list[str]:
    """Drop `>` quotes (and the "On … wrote:" line that introduces them) and the signature."""
    quoted = [l for l in lines if l.lstrip().startswith(">")]
    unquoted = [l for l in lines if l.strip() and not l.lstrip().startswith(">")]
    if quoted and not unquoted:
        # The whole section is quoted: an old-style forward, keep it unquoted.
        lines = [re.sub(r"^\s*(>\s?)+", "", l) for l in lines]
    else:
        lines = [l for l in lines if not l.lstrip().startswith(">")]
    return _strip_signature(lines)


def _strip_signature(lines: list[str]) -> list[str]:
    """Cut at the signature, unless that would leave nothing: then it is not a signature
    but the message (we would rather read a signature than lose a submission)."""
    for index, line in enumerate(lines):
        if (_SIG_DASHES.match(line) or _SENT_FROM.match(line)) and _has_text(lines[:index]):
            return lines[:index]
    for index, line in enumerate(lines):
        if _CLOSING.match(line) and _has_text(lines[:index]) and _looks_like_signature(lines[index + 1:]):
            return lines[:index]
    return lines


def _has_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _looks_like_signature(block: list[str]) -> bool:
    """A short trailing block of name, title, phone: no form labels, no long prose."""
    filled = [l.strip() for l in block if l.strip()]
    if len(filled) > 10:
        return False
    for line in filled:
        match = _LABEL_LINE.match(line)
        if match and match.group(1).strip().lower().rstrip(".") not in _SIGNATURE_KEYS:
            return False
        if len(line) > 120:
            return False
    return True


# --- text helpers ---------------------------------------------------------------------------


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _normalise_space(text: str) -> str:
    return " ".join(_c1_as_cp1252(text).split())


def _c1_as_cp1252(text: str) -> str:
    """Outlook labels Windows-1252 text "iso-8859-1"; read its C1 controls (\x96) as the
    dashes and quotes they were meant to be."""
    return re.sub(r"[\x80-\x9f]", lambda m: bytes([ord(m.group())]).decode("cp1252", "replace"), text)


def _tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, no blank edges."""
    lines = [line.replace("\xa0", " ").rstrip() for line in _normalise_newlines(text).split("\n")]
    out: list[str] = []
    for line in lines:
        if not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line)
    return "\n".join(out).strip("\n")


def _join(pieces: Iterable[str]) -> str:
    return "\n\n".join(piece for piece in pieces if piece and piece.strip())
