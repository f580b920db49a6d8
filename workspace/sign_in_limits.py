"""Sign-in attempts, limited in memory: the limits protect the team's mailboxes and the
relay from a flood, not a secret (links are random). They are kept so that nobody outside
the team can use up a member's links:

- per client (the connecting address, or behind a trusted proxy the client it names), on
  every request whatever address was typed: someone flooding the form stops only
  themselves;
- per team address and client, counted only for a team address: an outsider typing a
  member's address from elsewhere never uses up the member's own allowance;
- on links sent, all together: the relay is never made to mail without end.

The client comes from X-Forwarded-For only when the connecting address is a trusted proxy
(CIB_TRUSTED_PROXIES), read from the right: the first address that is not a trusted proxy
is the client, as each proxy appends the address it was connected from."""
from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta

from intake.pipeline.reply_limits import Limit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """CIB_TRUSTED_PROXIES (validated by Settings): addresses and CIDR networks."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def parse_ip(text: str) -> IPAddress | None:
    """One hop of X-Forwarded-For ("1.2.3.4", "1.2.3.4:80", "[2001:db8::1]:443"); None
    when it is not an address ("unknown", an obfuscated name, garbage)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_of(peer: str, forwarded: Iterable[str], trusted: tuple[Network, ...]) -> str:
    """The client's address: the connecting peer, unless it is a trusted proxy; then the
    rightmost X-Forwarded-For hop that is not one. A hop that is not an address was never
    written by a trusted proxy, so the nearest trusted hop before it stands for the client."""
    address = parse_ip(peer)
    if address is None or not _trusted(address, trusted):
        return str(address) if address is not None else peer
    hops = [hop for header in forwarded for hop in header.split(",")]
    for hop in reversed(hops):
        found = parse_ip(hop)
        if found is None:
            break
        address = found
        if not _trusted(address, trusted):
            break
    return str(address)


def _trusted(address: IPAddress, trusted: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def _client_key(client: str) -> str:
    # An IPv6 client usually holds a whole /64: counted as one, or it could rotate addresses.
    address = parse_ip(client)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return client


class Attempts:
    def __init__(
        self,
        per_client: Limit = Limit(20, timedelta(minutes=15)),
        per_address: Limit = Limit(5, timedelta(minutes=15)),
        sent: Limit = Limit(100, timedelta(minutes=15)),
    ) -> None:
        self.per_client = per_client
        self.per_address = per_address
        self.sent = sent
        self._seen: dict[str, deque[datetime]] = {}
        self._prune_at = 10_000

    def allow(self, client: str, now: datetime) -> bool:
        """A request from `client`, whatever address it names: False when its window is full."""
        return self._take([(f"client:{_client_key(client)}", self.per_client)], now)

    def may_send(self, address: str, client: str, now: datetime) -> bool:
        """A link for a team `address` asked from `client`: False when that member's
        allowance from that client, or the links sent by everyone, are used up."""
        keys = [(f"address:{address.lower()} {_client_key(client)}", self.per_address), ("sent", self.sent)]
        return self._take(keys, now)

    def _take(self, keys: list[tuple[str, Limit]], now: datetime) -> bool:
        for key, limit in keys:
            seen = self._seen.setdefault(key, deque())
            while seen and now - seen[0] >= limit.window:
                seen.popleft()
            if len(seen) >= limit.count:
                return False
        for key, _ in keys:
            self._seen[key].append(now)
        if len(self._seen) > self._prune_at:  # forget idle keys rather than grow without end
            horizon = max(self.per_client.window, self.per_address.window, self.sent.window)
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < horizon}
            self._prune_at = max(10_000, 2 * len(self._seen))
        return True
