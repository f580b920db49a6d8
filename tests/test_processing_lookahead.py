"""Kept messages are prepared (read, sender-checked, parsed) several at a time: a sender
check waiting on a DNS server that does not answer holds up only its own message, not
every message queued behind it. Recording stays in arrival order (one message at a time on
SQLite)."""
from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from dnslib import DNSRecord

from intake.runtime.composition import create_service
from tests.mailer import message, send, settle

COUNCILS = ["camden", "leeds", "wigan", "york"]
PBR = """
    Offer: PbR pathfinder
    Council: {council}
    Contact name: Alex Morgan
    Contact role: Head of Service
    Number of children's centres: 7
"""


class SilentDns:
    """A DNS server on loopback that hears every question and answers none."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.asked: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(4096)
            except OSError:
                continue
            self.asked.append(str(DNSRecord.parse(data).q.qname).lower())

    def asked_about(self, domain: str) -> bool:
        return any(name.rstrip(".").endswith(domain) for name in list(self.asked))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def silent_dns() -> Iterator[SilentDns]:
    server = SilentDns()
    try:
        yield server
    finally:
        server.close()


async def test_a_slow_sender_check_does_not_hold_up_the_messages_behind_it(settings_factory, clock, silent_dns):
    # The service checks senders itself (no border server), asking a DNS server that never
    # answers: each message's checks wait out their time and find nothing proven.
    settings = settings_factory(authserv_id=[], dns_servers=[f"127.0.0.1:{silent_dns.port}"], dns_timeout=2)
    runtime = create_service(settings, clock=clock)
    await runtime.start(slack=False, scheduler=False)
    try:
        for council in COUNCILS:
            sent = message(PBR.format(council=council.title()), sender=f"alex.morgan@{council}.gov.uk",
                           message_id=f"<eoi@{council}.gov.uk>")
            assert (await send(runtime, sent, mail_from=f"alex.morgan@{council}.gov.uk", authenticated=False))[0] == 250
        # Every council's domain is asked about while the first message is still waiting
        # for its answers: one at a time, the last would be asked only once the first was done.
        async with asyncio.timeout(30):
            while not all(silent_dns.asked_about(f"{council}.gov.uk") for council in COUNCILS):
                await asyncio.sleep(0.02)
        async with runtime.store.reader() as unit:
            first = (await unit.inbound.ids())[0]
            assert (await unit.inbound.get(first)).status == "received"
        await settle(runtime)
        async with runtime.store.reader() as unit:
            rows = [await unit.inbound.get(inbound_id) for inbound_id in await unit.inbound.ids()]
            references = [row.reference for row in await unit.submissions.all()]
        assert [row.status for row in rows] == ["processed"] * len(COUNCILS)
        assert not any((row.authentication or {}).get("proven") for row in rows)
        assert len(set(references)) == len(COUNCILS)
        if runtime.store.dialect == "sqlite":  # one recorder: the references follow the order of arrival
            assert references == sorted(references)
    finally:
        await runtime.stop()
