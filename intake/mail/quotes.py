"""What the sender wrote now: quoted reply history and signatures cut from a plain-text
body, forwarded messages kept because a forward is the submission. Used by the MIME walk in
intake.mail.mime for each text part; the result is EmailContent.new_text, which
intake.parsing reads. Pure: no I/O.
"""
from __future__ import annotations

import re

from intake.mail.mail_text import normalise_newlines, tidy

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
    lines = normalise_newlines(text).split("\n")
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
    return tidy("\n".join(kept))


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


def own_signature(text: str, *, subject: str = "") -> str:
    """The sign-off block under what the sender wrote now ("Kind regards, / Sam Patel /
    Head of Early Help"), before any quoted history: the part `strip_quoted` cuts."""
    lines = normalise_newlines(text).split("\n")
    section: list[str] = []
    for index, line in enumerate(lines):
        if _FORWARD_LINE.match(line) or _reply_marker(lines, index):
            break
        section.append(line)
    section = [line for line in section if not line.lstrip().startswith(">")]
    kept = _strip_signature(section)
    return "\n".join(section[len(kept):]).strip()


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
