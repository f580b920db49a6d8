"""Small string helpers shared by the modules that read inbound mail (intake.mail.extract,
mime, html_text, quotes): newlines, whitespace, Outlook's mislabelled Windows-1252, and
blank-line tidying. Pure: no I/O."""
from __future__ import annotations

import re
from collections.abc import Iterable


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def normalise_space(text: str) -> str:
    return " ".join(_c1_as_cp1252(text).split())


def _c1_as_cp1252(text: str) -> str:
    """Outlook labels Windows-1252 text "iso-8859-1"; read its C1 controls (\x96) as the
    dashes and quotes they were meant to be."""
    return re.sub(r"[\x80-\x9f]", lambda m: bytes([ord(m.group())]).decode("cp1252", "replace"), text)


def tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, no blank edges."""
    lines = [line.replace("\xa0", " ").rstrip() for line in normalise_newlines(text).split("\n")]
    out: list[str] = []
    for line in lines:
        if not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line)
    return "\n".join(out).strip("\n")


def join_blocks(pieces: Iterable[str]) -> str:
    return "\n\n".join(piece for piece in pieces if piece and piece.strip())
