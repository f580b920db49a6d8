"""Which offers, or the nomination, a piece of text names, by the aliases in the campaign.

Used by submissions (which offers a message is for), queries (what a question is about),
parse_message (a nomination intended without details) and the rules and forms (an offer
key that may not exist).
"""
from __future__ import annotations

import re
from functools import lru_cache

from intake.campaign.definition import Campaign, Offer
from intake.campaign.register import normalise


@lru_cache(maxsize=8)
def alias_index(campaign: Campaign) -> dict[str, str]:
    """Normalised alias -> offer key (titles, short titles and keys count as aliases)."""
    index: dict[str, str] = {}
    for offer in campaign.offers:
        for alias in (*offer.aliases, offer.title, offer.short_title, offer.key.replace("-", " ")):
            key = normalise(alias)
            if key:
                index.setdefault(key, offer.key)
    return index


def offers_in(text: str, campaign: Campaign) -> list[str]:
    """Offer keys named in `text`, in order of first mention; the longest alias wins
    where aliases overlap."""
    words = normalise(text or "").split()
    if not words:
        return []
    index = alias_index(campaign)
    longest = max(len(alias.split()) for alias in index)
    taken = [False] * len(words)
    found: list[tuple[int, str]] = []
    for size in range(longest, 0, -1):
        for start in range(len(words) - size + 1):
            if any(taken[start: start + size]):
                continue
            key = index.get(" ".join(words[start: start + size]))
            if key is not None:
                found.append((start, key))
                for position in range(start, start + size):
                    taken[position] = True
    return list(dict.fromkeys(key for _, key in sorted(found)))


def offer_or_none(campaign: Campaign, key: str) -> Offer | None:
    try:
        return campaign.offer(key)
    except KeyError:
        return None


def nomination_intended(subject: str, body: str, campaign: Campaign) -> bool:
    text = normalise(f"{subject}\n{body}")
    aliases = [normalise(a) for a in (*campaign.nomination.aliases, campaign.nomination.short_title)]
    return any(re.search(rf"\b{re.escape(alias)}\b", text) for alias in aliases if alias)
