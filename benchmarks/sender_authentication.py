"""Sender authentication: what judging one message's sender costs.

Measures, in one run and side by side, per message:

- baseline: parsing the message's headers, which any reading of it does;
- behind a border server: reading its trusted Authentication-Results (`judge`);
- as the receiving server: our own SPF and DMARC checks on an unsigned message, and DKIM,
  SPF and DMARC on a signed one (`check`), with DNS answered by a real DNS server on
  loopback (tests/dns_stub.py), so the figures are the checks' own cost, not the network's.

The kinds are interleaved, so a busy moment on the machine hits all alike.

    python benchmarks/sender_authentication.py [--messages 300]
"""
from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time
from collections.abc import Callable
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.mail.authenticate import check, configure_dns, from_domain, judge  # noqa: E402
from tests.dns_stub import DnsStub  # noqa: E402

BODY = (
    "Council: Leeds City Council\r\nContact name: Jane Smith\r\nContact role: Head of Early Help\r\n"
    "Number of children's centres: 12\r\n"
)


def _message(n: int) -> bytes:
    return (
        f"From: Jane Smith <jane.smith@leeds.gov.uk>\r\nTo: eoi@cib.test\r\n"
        f"Subject: EOI - Payment by Results pathfinder\r\nMessage-ID: <eoi-{n}@leeds.gov.uk>\r\n"
        f"Date: Mon, 17 May 2027 10:00:00 +0100\r\n\r\n{BODY}"
    ).encode()


def _keys() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(public).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()

    stub = DnsStub().start()
    configure_dns([stub.address], timeout=2)
    private, public = _keys()
    stub.add("sel._domainkey.leeds.gov.uk", "TXT", f"v=DKIM1; k=rsa; p={public}")
    stub.add("_dmarc.leeds.gov.uk", "TXT", "v=DMARC1; p=reject")
    stub.add("leeds.gov.uk", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")

    plain = [_message(n) for n in range(args.messages)]
    signed = [dkim.sign(m, b"sel", b"leeds.gov.uk", private, include_headers=[b"from", b"subject", b"date"]) + m
              for m in plain]
    stamped = ["Authentication-Results: mx.cib.test; dkim=pass header.d=leeds.gov.uk; "
               "dmarc=pass header.from=leeds.gov.uk\r\n".encode() + m for m in plain]

    def parse_headers(n: int) -> bool:
        BytesHeaderParser(policy=policy.compat32).parsebytes(plain[n])
        return True

    def trusted(n: int) -> bool:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(stamped[n])
        return judge(headers.get_all("Authentication-Results") or [], ["mx.cib.test"], from_domain(stamped[n])).proven

    def own(messages: list[bytes]) -> Callable[[int], bool]:
        def run(n: int) -> bool:
            raw = messages[n]
            return check(raw, ip="127.0.0.1", mail_from="jane.smith@leeds.gov.uk", helo="mail.leeds.gov.uk",
                         authserv_id="cib.test", domain=from_domain(raw)).proven
        return run

    kinds: list[tuple[str, Callable[[int], bool], bool]] = [
        ("baseline: parse the headers", parse_headers, True),
        ("border server: judge its Authentication-Results", trusted, True),
        ("own checks: SPF + DMARC, unsigned", own(plain), False),
        ("own checks: DKIM + SPF + DMARC, signed", own(signed), True),
    ]
    timings: dict[str, list[float]] = {name: [] for name, _, _ in kinds}
    wrong: dict[str, int] = {name: 0 for name, _, _ in kinds}
    try:
        for n in range(args.messages):
            for name, work, expected in kinds:
                started = time.perf_counter()
                proven = work(n)
                timings[name].append(time.perf_counter() - started)
                wrong[name] += proven != expected
    finally:
        stub.stop()

    print(f"{args.messages} messages per kind, interleaved; DNS from a stub server on loopback\n")
    print("| kind | proven as expected | per second | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for name, _, _ in kinds:
        samples = sorted(timings[name])
        p50 = statistics.median(samples) * 1000
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000
        rate = len(samples) / sum(samples)
        print(f"| {name} | {len(samples) - wrong[name]}/{len(samples)} | {rate:,.0f} | {p50:.2f} | {p99:.2f} |")


if __name__ == "__main__":
    main()
