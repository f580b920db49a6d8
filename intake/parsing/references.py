"""Reference numbers (PBR-0007) in text, and whether a message asks to withdraw.

parse_message reads the references first: with one, a message may be a withdrawal or an
amendment. The Slack `/cib withdraw` command finds its references here too.
"""
from __future__ import annotations

import re

from intake.campaign.definition import Campaign


# What is withdrawn, when the words need it said ("cancel the meeting" is not a withdrawal).
_WHAT = r"(?:reference|eoi|expression|interest|submission|nomination|application|entry|it|this|that|us|our)"
# The ways people say it; each needs a reference (named, or the thread's) to withdraw anything.
# "Cancel", "remove" and "not going ahead" alone are too common: they must say what.
_WITHDRAW = re.compile(
    r"\bwithdr[ae]w\w*|\bretract\w*|\brescind\w*|no longer (?:wish|want|intend|plan|able|be able)"
    r"|\bpull(?:ing)? out\b|\bdrop(?:ping)? out\b|\bopt(?:ing)?[ -]?out\b|\bcount us out\b"
    r"|\bdecided against\b|\bstep(?:ping)? back from\b"
    rf"|\bcancel\w*\s+(?:\w+\s+){{0,3}}?{_WHAT}\b"
    rf"|\bdisregard\s+(?:\w+\s+){{0,2}}?{_WHAT}\b"
    r"|\b(?:take|taking|took|taken)\s+(?:us|our (?:council|authority|name|entry|eoi|application|submission))\s+off\b"
    r"|\b(?:be|been|are) taken off\b"
    r"|\bremov\w*\s+(?:us|our (?:council|authority|name|entry|eoi|application|submission|expression))\b"
    r"|\bnot (?:to )?(?:go|going|be going) ahead with (?:it|this|that|our|the (?:eoi|expression|application"
    r"|submission|pathfinder|offer|nomination))\b|\bdecided not to (?:go ahead|proceed|apply|take part)\b"
    r"|\b(?:not|won'?t|will not|no longer|unable to|not able to)\s+(?:be\s+)?"
    r"(?:proceed(?:ing)?|taking part|take part|participat\w*|applying)\b",
    re.IGNORECASE,
)


def reference_pattern(campaign: Campaign) -> re.Pattern[str]:
    """A reference: one of the campaign's prefixes and a number (group 1 the prefix,
    group 2 or 3 the number)."""
    prefixes = [o.reference_prefix for o in campaign.offers] + [campaign.nomination.reference_prefix]
    alternatives = "|".join(sorted((re.escape(p) for p in prefixes), key=len, reverse=True))
    # PBR-7, pbr-0007, PBR 0007, PBR0007; not "PBR 30 places" (a bare number must have 4 digits).
    return re.compile(rf"(?<![A-Za-z0-9])({alternatives})(?:\s*[-‐–]\s*(\d{{1,6}})|\s?(\d{{4,6}}))(?!\d)", re.IGNORECASE)


def find_references(text: str, campaign: Campaign) -> list[str]:
    """Reference numbers in `text`, normalised to PREFIX-NNNN, in order of appearance."""
    found: list[str] = []
    for match in reference_pattern(campaign).finditer(text or ""):
        number = int(match.group(2) or match.group(3))
        reference = f"{match.group(1).upper()}-{number:04d}"
        if reference not in found:
            found.append(reference)
    return found


def strip_references(text: str, campaign: Campaign) -> str:
    return reference_pattern(campaign).sub(" ", text)


def asks_to_withdraw(text: str, campaign: Campaign) -> bool:
    """Whether `text` asks to withdraw what it refers to. A reference reads as the word
    "reference", so that "cancel PBR-0007" says what is cancelled."""
    return _WITHDRAW.search(reference_pattern(campaign).sub(" reference ", text)) is not None
