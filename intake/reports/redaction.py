"""One person's traces in what the service holds, found and replaced: the identifiers that
single them out (their address, the names tied to it, the phone numbers they gave, their
Slack user ids), and text, JSON and whole messages (MIME or Slack's JSON) with those
identifiers replaced. Pure: values in, values out; `erasure_plan.py` decides where they
are used, `intake/store/secure_erase.py` scans the database file with `byte_patterns`."""
from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

ERASED = "[erased]"
# Where a header must still hold an address (From, To), or a name, to stay readable.
ERASED_ADDRESS = "erased@erased.invalid"
ERASED_NAME = "erased"
# What stands for a whole message that could not be taken apart and put back without them.
PLACEHOLDER = (b"Subject: [erased]\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
               b"[This message was removed when a person's data was erased.]\r\n")
NOTE = "[An attachment was removed here when a person's data was erased.]\n"

_SEP = r"[ \t\-.)]{0,2}"  # what may stand between the digits of a phone number
# A UK phone number as people write one: 0161 253 5000, (0161) 253-5000, +44 (0)7700 900123.
_PHONE = re.compile(r"(?<![\w+])(\+44\s?(?:\(0\)\s?)?|\(?0)((?:" + _SEP + r"\d){9,10})(?!\d)")
_APOSTROPHES = "(?:'|\u2019|&#39;|&#x27;|&apos;)"  # as typed, and as HTML escapes them


def phones_in(text: str) -> set[str]:
    """The UK phone numbers in `text`, as national digits ("01612535000")."""
    found = set()
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group(2))
        if 9 <= len(digits) <= 10 and digits[0] != "0":
            found.add("0" + digits)
    return found


def _name_pattern(name: str) -> str | None:
    """A full name, its words apart by any space, an apostrophe or ampersand however
    escaped; None for a single word ("Sam" alone names too many people to be taken out of
    everyone's text)."""
    words = name.split()
    if len(words) < 2 or not any(c.isalpha() for c in name):
        return None
    def word(text: str) -> str:
        parts = [_APOSTROPHES if c in "'\u2019" else "(?:&|&amp;)" if c == "&" else re.escape(c) for c in text]
        return "".join(parts)
    return r"(?<!\w)" + r"\s+".join(word(w) for w in words) + r"(?!\w)"


def _phone_pattern(national: str) -> str:
    rest = _SEP.join(national[1:])
    return r"(?<![\d+])(?:\+?44" + _SEP + r"(?:\(0\)" + _SEP + r")?|\(?0)" + _SEP + rest + r"(?!\d)"


@dataclass(frozen=True)
class Identifiers:
    """What singles one person out. `names=False` in the methods below leaves names alone
    (where a name belongs to somebody else who shares it)."""

    address: str
    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # national digits
    slack_users: tuple[str, ...] = ()

    def _sources(self, names: bool) -> list[tuple[str, str]]:
        """(kind, pattern) of every identifier."""
        found = [("address", r"(?<![\w.%+\-])" + re.escape(self.address) + r"(?![\w\-]|\.\w)")]
        if names:
            found += [("name", p) for p in map(_name_pattern, self.names) if p]
        found += [("phone", _phone_pattern(p)) for p in self.phones]
        found += [("slack", r"(?<![A-Za-z0-9])" + re.escape(u) + r"(?![A-Za-z0-9])") for u in self.slack_users]
        return found

    def pattern(self, *, names: bool = True) -> re.Pattern[str]:
        return _compiled(tuple(p for _, p in self._sources(names)))

    def found_in(self, text: str | None, *, names: bool = True) -> bool:
        return bool(text) and self.pattern(names=names).search(text or "") is not None

    def replace(self, text: str, *, names: bool = True, header: bool = False) -> str:
        """`text` with every identifier replaced; in a header an address and a name stay
        an address and a name, so the header still parses."""
        for kind, source in self._sources(names):
            stand_in = {"address": ERASED_ADDRESS, "name": ERASED_NAME}.get(kind, ERASED) if header else ERASED
            text = _compiled((source,)).sub(stand_in, text)
        return text

    def byte_patterns(self, *, names: bool = True) -> list[tuple[str, re.Pattern[bytes]]]:
        """(kind, pattern) over raw bytes: a database file holds text as UTF-8, and JSON
        columns hold what is not ASCII as \\u escapes."""
        found = []
        for kind, source in self._sources(names):
            found.append((kind, re.compile(source.encode("utf-8"), re.IGNORECASE)))
        for name in self.names if names else ():
            escaped = json.dumps(name)[1:-1]
            if escaped != name:
                found.append(("name", re.compile(re.escape(escaped.encode("ascii")), re.IGNORECASE)))
        return found


_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def _compiled(sources: tuple[str, ...]) -> re.Pattern[str]:
    if sources not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[sources] = re.compile("|".join(f"(?:{s})" for s in sources) or r"(?!x)x", re.IGNORECASE)
    return _CACHE[sources]


# --- JSON values --------------------------------------------------------------------


def scrub_json(
    value: Any, who: Identifiers, *, names: bool = True, keep_names_under: frozenset[str] = frozenset()
) -> Any:
    """`value` with the identifiers replaced in every string (and key). Under a key in
    `keep_names_under` names are left alone: there a name is somebody else's own field."""
    if isinstance(value, str):
        return who.replace(value, names=names)
    if isinstance(value, list):
        return [scrub_json(item, who, names=names, keep_names_under=keep_names_under) for item in value]
    if isinstance(value, dict):
        return {
            who.replace(str(key), names=names): scrub_json(
                item, who, names=names and key not in keep_names_under, keep_names_under=keep_names_under)
            for key, item in value.items()
        }
    return value


def json_mentions(value: Any, who: Identifiers, *, names: bool = True) -> bool:
    return value is not None and who.found_in(json.dumps(value, ensure_ascii=False, default=str), names=names)


# --- whole messages ----------------------------------------------------------------


def message_text(raw: bytes) -> str:
    """Everything readable in a raw message, for finding an identifier in it: the bytes as
    they are, JSON with its escapes read, and (for an email) its decoded headers and text
    parts, HTML unescaped."""
    seen = [raw.decode("utf-8", "replace")]
    if raw.lstrip().startswith((b"{", b"[")):  # a Slack payload, or what we post there: its escapes read
        try:
            seen.append(json.dumps(json.loads(raw), ensure_ascii=False))
        except ValueError:
            pass
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        for part in message.walk():
            seen += [_header_text(value) for value in part.values()]
            if part.get_content_maintype() == "text" and not part.is_multipart():
                seen.append(_text_of(part))
    except Exception:
        pass
    text = "\n".join(seen)
    return text + "\n" + html.unescape(text)


# A display name with one of these words is a team's or an office's, not a person's.
_NOT_A_PERSON = frozenset({
    "council", "team", "services", "service", "department", "office", "borough", "county", "city", "district",
    "children's", "childrens", "support", "admin", "enquiries", "info", "mailbox", "noreply", "no-reply",
})


def personal_name(name: str) -> bool:
    """Whether a From header's display name reads as a person's (not "Bury Council")."""
    words = {w.strip(".,()").lower() for w in name.split()}
    return len(words) >= 2 and not words & _NOT_A_PERSON and "@" not in name


def addresses_and_names(raw: bytes) -> list[tuple[str, str]]:
    """(display name, address) of a message's From, Reply-To and Sender headers."""
    try:
        headers = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
        values = [str(v) for name in ("From", "Reply-To", "Sender") for v in headers.get_all(name) or []]
        return [(name.strip(), address.lower()) for name, address in getaddresses(values)]
    except Exception:
        return []


def scrub_raw(raw: bytes, who: Identifiers, *, names: bool = True, drop_attachments: bool = False) -> bytes:
    """A kept or sent message with the identifiers replaced: as JSON (Slack), else as an
    email. What cannot be rewritten, or still shows them, becomes `PLACEHOLDER`."""
    stripped = raw.lstrip()
    if stripped.startswith((b"{", b"[")):
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if value is not None:
            return json.dumps(scrub_json(value, who, names=names), ensure_ascii=False).encode("utf-8")
    try:
        scrubbed = _scrub_email(raw, who, names=names, drop_attachments=drop_attachments)
    except Exception:
        return PLACEHOLDER
    return PLACEHOLDER if who.found_in(message_text(scrubbed), names=names) else scrubbed


def _scrub_email(raw: bytes, who: Identifiers, *, names: bool, drop_attachments: bool) -> bytes:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    for part in message.walk():
        _scrub_headers(part, who, names)
        if part.is_multipart():
            continue
        if part.get_content_maintype() == "text":
            text = _text_of(part)
            if who.found_in(text, names=names):
                _set_text(part, who.replace(text, names=names))
        elif drop_attachments and isinstance(part, EmailMessage):
            part.set_content(NOTE, charset="utf-8")
    return message.as_bytes()


def _scrub_headers(part: Message, who: Identifiers, names: bool) -> None:
    """Each header naming them rewritten in place (order kept); one that will not parse
    again without them is dropped."""
    headers = part._headers  # private, but the only way to edit one of several same-named headers in place
    kept = []
    for name, value in headers:
        text = _header_text(value)
        if not who.found_in(text, names=names):
            kept.append((name, value))
            continue
        try:
            kept.append(part.policy.header_store_parse(name, who.replace(text, names=names, header=True)))
        except Exception:
            continue
    part._headers = kept  # (see above)


def _header_text(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return repr(value)


def _text_of(part: Message) -> str:
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except Exception:
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload or "")


def _set_text(part: Message, text: str) -> None:
    disposition = part.get_content_disposition()
    filename = part.get_filename()
    subtype = part.get_content_subtype()
    if not isinstance(part, EmailMessage):
        raise TypeError("a message read without the default policy")
    options: dict[str, Any] = {"subtype": subtype, "charset": "utf-8"}
    if disposition:
        options["disposition"] = disposition
    if filename:
        options["filename"] = filename
    part.set_content(text, **options)


def identifiers_from(
    address: str, *, names: Iterable[str], texts: Iterable[str], slack_users: Iterable[str]
) -> Identifiers:
    """The identifiers of one address: the names tied to it (blank and erased ones left
    out), the phone numbers in what they wrote, their Slack user ids."""
    kept_names = sorted({" ".join(n.split()) for n in names if n and n.strip() and n != ERASED
                         and n.strip().lower() != address.lower()}, key=lambda n: (-len(n), n))
    phones: set[str] = set()
    for text in texts:
        phones |= phones_in(text)
    return Identifiers(address.lower(), tuple(kept_names), tuple(sorted(phones)),
                       tuple(sorted({u for u in slack_users if u})))
