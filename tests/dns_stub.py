"""A real DNS server on 127.0.0.1 (UDP and TCP, one free port) answering from records the
test gives it, so the sender checks (dkimpy, pyspf, authheaders) run their own lookups
end to end. Unknown names are NXDOMAIN; a known name without the asked type is NODATA."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import dns.resolver
import pytest
from dnslib import MX, QTYPE, RR, TXT, A, DNSLabel
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from intake.mail.authenticate import configure_dns


def _strings(value: str) -> list[bytes]:
    """A TXT value as the 255-byte character-strings DNS carries (DKIM keys are longer)."""
    data = value.encode()
    return [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]


class _Records(BaseResolver):
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[object]] = {}
        self.asked: list[tuple[str, str]] = []  # every question, as (name, type)
        self.lock = threading.Lock()

    def resolve(self, request, handler):  # dnslib's interface
        reply = request.reply()
        name, qtype = str(request.q.qname).lower(), QTYPE[request.q.qtype]
        with self.lock:
            self.asked.append((name, qtype))
            answers = list(self.records.get((name, qtype), []))
            known = any(key[0] == name for key in self.records)
        for rdata in answers:
            reply.add_answer(RR(DNSLabel(name), getattr(QTYPE, qtype), rdata=rdata, ttl=60))
        if not known:
            reply.header.rcode = 3  # NXDOMAIN
        return reply


class DnsStub:
    """`add("leeds.gov.uk", "TXT", "v=spf1 ip4:127.0.0.1 -all")`, at any time."""

    def __init__(self) -> None:
        self.resolver = _Records()
        self.servers: list[DNSServer] = []
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def asked(self) -> list[tuple[str, str]]:
        """Every question the stub has been asked, as (name, type), in order."""
        with self.resolver.lock:
            return list(self.resolver.asked)

    def add(self, name: str, rtype: str, value: str) -> None:
        rtype = rtype.upper()
        if rtype == "TXT":
            rdata: object = TXT(_strings(value))
        elif rtype == "A":
            rdata = A(value)
        elif rtype == "MX":  # "10 mx.leeds.gov.uk"
            preference, _, exchange = value.partition(" ")
            rdata = MX(exchange.strip(), int(preference))
        else:
            raise ValueError(f"unsupported record type {rtype}")
        key = (str(DNSLabel(name)).lower(), rtype)
        with self.resolver.lock:
            self.resolver.records.setdefault(key, []).append(rdata)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> DnsStub:
        """Serve on `host` at `port` (0: a free one); a fixed port, such as 53 for a
        resolv.conf, which names no port, is tried once."""
        logger = DNSLogger(log="-request,-reply,-truncated", logf=lambda *_: None)
        for _ in range(20 if port == 0 else 1):  # a port free for UDP may be taken for TCP: try another
            udp = DNSServer(self.resolver, address=host, port=port, logger=logger)
            chosen = udp.server.server_address[1]
            try:
                tcp = DNSServer(self.resolver, address=host, port=chosen, tcp=True, logger=logger)
            except OSError:
                udp.server.server_close()
                continue
            self.host, self.port, self.servers = host, chosen, [udp, tcp]
            for server in self.servers:  # a short poll: stop() waits one out per server
                threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            return self
        raise RuntimeError(f"no free port on {host} for the DNS stub")

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
            server.server.server_close()
        self.servers = []


def silent_port() -> tuple[socket.socket, int]:
    """A bound UDP socket that never answers: a DNS server that times out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


@pytest.fixture
def dns_stub() -> Iterator[DnsStub]:
    """The stub, with every sender-check lookup pointed at it; the resolver put back after."""
    saved = dns.resolver.default_resolver
    stub = DnsStub().start()
    configure_dns([stub.address], timeout=2)
    try:
        yield stub
    finally:
        dns.resolver.default_resolver = saved
        stub.stop()
