"""Short questions the service answers itself: deadlines, status, regional leads, a blank
form, help.

parse_message asks here only when a message is neither a withdrawal, an amendment, a
submission nor a nomination; a message that is no query either is an enquiry for the team.
"""
from __future__ import annotations

import re

from intake.campaign.definition import Campaign
from intake.campaign.register import REGIONS, normalise, resolve_region
from intake.parsing.drafts import Query
from intake.parsing.offers import nomination_intended, offers_in


_QUESTION_WORDS = 60  # longer than this and it is a letter, not a question for the bot
_HELP = re.compile(r"(help|help me|please help|\?|what can you do|how does this work|commands|menu|usage|hi help)")


def detect_query(subject: str, body: str, *, campaign: Campaign) -> Query | None:
    """A question the service can answer itself, or None."""
    subject = re.sub(r"^\s*((re|fw|fwd|aw)\s*:\s*)+", "", subject or "", flags=re.IGNORECASE)
    text = f"{subject}\n{body or ''}".strip()
    words = normalise(text).split()
    if not words or len(words) > _QUESTION_WORDS:
        return None
    flat = " ".join(words)
    target = _target_in(body or "", campaign) or _target_in(subject, campaign)
    if re.search(r"\b(forms?|template|pro ?forma)\b", flat) and (
        target or re.search(r"\b(send|need|get|have|want|blank|where|copy|can i|please)\b", flat) or len(words) <= 4
    ):
        return Query("form", offer=target)
    # A question about a date is answered with the date, whatever it is about: the closing
    # date of the regional leads' nominations is a deadline, not the grid of the leads.
    if re.search(r"\b(deadlines?|closing dates?|due dates?|due|close|closes|when)\b", flat) and (
        re.search(r"\b(deadlines?|closing|due|close|closes|submit|send|by when)\b", flat)
    ):
        if target and not re.search(r"\bdeadlines\b", flat):
            return Query("deadline", offer=target)
        return Query("deadlines")
    if re.search(r"\b(leads|regional leads?|appendix a)\b", flat) and re.search(
        r"\b(who|list|which|names?|show|appendix a)\b", flat
    ):
        return Query("leads", region=_region_in(text))
    if re.search(r"\b(status|what have we (submitted|sent)|what did we (submit|send)|have you (received|got)"
                 r"|our (submissions|eois?|expressions)|what we have (submitted|sent)|submitted so far)\b", flat):
        return Query("status")
    # "help" as the subject, the body or both ("help" / "help" is not "help help").
    said = {normalise(part) for part in (subject, body or "") if normalise(part)} or {"?"}
    if all(_HELP.fullmatch(part) for part in said):
        return Query("help")
    return None


def _target_in(text: str, campaign: Campaign) -> str | None:
    """The offer (or the nomination) a question is about."""
    offers = offers_in(text, campaign)
    if offers:
        return offers[0]
    return campaign.nomination.key if nomination_intended(text, "", campaign) else None


def _region_in(text: str) -> str | None:
    """A region named in a question: by name, or as "leads for X" / "X leads"."""
    flat = normalise(text)
    for region in sorted(REGIONS, key=len, reverse=True):
        if re.search(rf"\b{re.escape(normalise(region))}\b", flat):
            return region
    for pattern in (r"\b(?:for|in|of)\s+(?:the\s+)?([a-z ]{2,40}?)(?:\s+region)?\s*$",
                    r"\b(?:the\s+)?([a-z ]{2,40}?)\s+(?:regional\s+)?leads\b"):
        match = re.search(pattern, flat)
        if match:
            words = [w for w in match.group(1).split() if w not in ("who", "are", "is", "the", "what")]
            for size in range(min(len(words), 4), 0, -1):
                region = resolve_region(" ".join(words[-size:]))
                if region:
                    return region
    return None
