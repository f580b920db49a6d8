"""When a failed send is tried again: the same backoff for every channel."""
from __future__ import annotations

from datetime import datetime, timedelta

MAX_ATTEMPTS = 8
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))


def retry_at(attempt: int, now: datetime) -> datetime | None:
    """When to try again after failed attempt number `attempt` (1-based); None: give up."""
    if attempt >= MAX_ATTEMPTS:
        return None
    return now + BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]
