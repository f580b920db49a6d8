"""Sign-in attempts, limited per client address and per email address, in memory: the
limit protects the mailbox and the service from a flood, not a secret (links are random)."""
from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from intake.pipeline.limits import Limit


class Attempts:
    def __init__(self, per_client: Limit = Limit(20, timedelta(minutes=15)),
                 per_address: Limit = Limit(5, timedelta(minutes=15))) -> None:
        self.per_client = per_client
        self.per_address = per_address
        self._seen: dict[str, deque[datetime]] = {}

    def allow(self, client: str, address: str, now: datetime) -> bool:
        """Count this attempt; False when either window is already full."""
        keys = ((f"client:{client}", self.per_client), (f"address:{address.lower()}", self.per_address))
        for key, limit in keys:
            seen = self._seen.setdefault(key, deque())
            while seen and now - seen[0] >= limit.window:
                seen.popleft()
            if len(seen) >= limit.count:
                return False
        for key, _ in keys:
            self._seen[key].append(now)
        if len(self._seen) > 10_000:  # forget idle keys rather than grow without end
            self._seen = {k: v for k, v in self._seen.items() if v}
        return True
