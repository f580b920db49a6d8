"""Where a message's attached documents begin in its text.

The mail reader puts each attached document's text after the body, under a heading line
of its own. The parser reads fields from both, but an offer merely named somewhere (the
fallback when no "Offer:" line, heading, subject or ticked box chooses one) counts only in
what the sender wrote: a form's printed wording names every offer, whichever was ticked.
"""
from __future__ import annotations

import re

_MARK = "── Attached document:"
_HEADING = re.compile(rf"^{_MARK} .* ──$", re.MULTILINE)


def document_heading(name: str) -> str:
    """The line put before an attached document's text, naming the file."""
    shown = " ".join((name or "attachment").split())[:120] or "attachment"
    return f"{_MARK} {shown} ──"


def written_part(body: str) -> str:
    """`body` up to the first attached document: what the sender wrote."""
    found = _HEADING.search(body or "")
    return body[: found.start()] if found else (body or "")
