"""Rate limits on the replies messages draw: per sender and for everyone together, as
(count, seconds) windows. Pure: the counts come from the store, the decision is here."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Limit:
    count: int
    window: timedelta

    @classmethod
    def parse(cls, text: str) -> Limit:
        """ "50/60": 50 messages in 60 seconds."""
        count, _, seconds = text.partition("/")
        limit = cls(int(count), timedelta(seconds=float(seconds)))
        if limit.count < 1 or limit.window <= timedelta(0):
            raise ValueError(f"not a rate limit: {text!r} (count/seconds)")
        return limit

    def describe(self) -> str:
        return f"{self.count} in {_span(self.window)}"


def parse_limits(texts: Iterable[str]) -> tuple[Limit, ...]:
    return tuple(Limit.parse(text) for text in texts)


@dataclass(frozen=True)
class RateLimits:
    """The limits on one channel: per sender, and for all its senders together."""

    sender: tuple[Limit, ...] = ()
    total: tuple[Limit, ...] = ()


def exceeded(limits: Sequence[Limit], counts: Sequence[int]) -> Limit | None:
    """The first limit whose window already held `count` earlier messages, if any."""
    for limit, count in zip(limits, counts, strict=True):
        if count >= limit.count:
            return limit
    return None


def _span(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour" + ("s" if seconds != 3600 else "")
    if seconds % 60 == 0:
        return f"{seconds // 60} minute" + ("s" if seconds != 60 else "")
    return f"{seconds} seconds"
