"""Questions asked in passing: an expression of interest or a nomination that also asks
something ("what counts as a children's centre?") keeps the question for the team, who
answer it. Pure."""
from __future__ import annotations

import re

_LABEL_LINE = re.compile(r"^\s*[\w'’()/&,.\- ]{1,40}:\s*\S")  # "Council: Camden", a form's line
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MIN_WORDS = 3
_MOST = 5
# A note to a colleague, not a question for us: "Gemma – can you send this to the CIB?",
# "Hi Tom, could you forward this on?", "Can you print this for me?". Addressed to someone
# by name, or asking that this message be passed on.
_TO_A_COLLEAGUE = re.compile(
    r"^(?:(?:hi|hello|dear)\s+)?[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?\s*[-–—,:]\s"
    r"|(?i:\b(?:(?:can|could|would|will)\s+you|please)\s+(?:please\s+)?(?:send|forward|pass|email|print"
    r"|file|circulate)\s+(?:this|it|these|the attached)\b)",
)


def questions_in(body: str) -> list[str]:
    """The sentences of the body that end in a question mark, outside its label lines,
    in order, each once (at most five; each at most 500 characters); not a note to a
    colleague inside a forward."""
    found: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        text = " ".join(paragraph)
        paragraph.clear()
        for sentence in _SENTENCE_END.split(text):
            sentence = sentence.strip()
            if (sentence.endswith("?") and len(sentence.split()) >= _MIN_WORDS and sentence not in found
                    and not _TO_A_COLLEAGUE.search(sentence)):
                found.append(sentence[:500])

    for line in body.splitlines():
        if not line.strip() or _LABEL_LINE.match(line):
            flush()
            continue
        paragraph.append(line.strip())
    flush()
    return found[:_MOST]
