"""The email channel's sender authenticator at its own boundary: Authentication-Results from
a trusted server judged (`judge`), and our own DKIM/SPF/DMARC checks (`check`) run against
a real DNS server holding real keys (tests/dns_stub.py)."""
from __future__ import annotations

import asyncio
import base64
import functools
import threading
import time
from datetime import datetime, timezone

import authres
import dkim
import dns.resolver
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from intake.mail import authenticate
from intake.mail.authenticate import EmailAuthenticator, check, configure_dns, from_domain, judge
from intake.messages import Authentication
from intake.models import InboundMessage
from tests import dns_stub as stub_module
from tests.dns_stub import DnsStub, silent_port

dns_stub = stub_module.dns_stub  # the fixture, under the name the tests ask for

MX = "mx.cib.test"


# --- judge(): Authentication-Results from the server in front of us ----------------------


def test_a_trusted_dmarc_pass_proves_the_domain():
    value = f"{MX}; spf=pass smtp.mailfrom=leeds.gov.uk; dmarc=pass (p=reject) header.from=leeds.gov.uk"
    result = judge([value], [MX], "leeds.gov.uk")
    assert result == Authentication("authserv", "leeds.gov.uk", True, value)


def test_the_authserv_id_is_matched_without_regard_to_case_and_folding_is_undone():
    value = "MX.CIB.TEST;\r\n\tdmarc=pass header.from=leeds.gov.uk"
    result = judge([value], [MX], "leeds.gov.uk")
    assert result.proven
    assert result.results == "MX.CIB.TEST; dmarc=pass header.from=leeds.gov.uk"


def test_the_same_header_from_an_untrusted_server_proves_nothing():
    value = "mx.evil.test; dmarc=pass header.from=leeds.gov.uk; dkim=pass header.d=leeds.gov.uk"
    assert judge([value], [MX], "leeds.gov.uk") == Authentication("authserv", "leeds.gov.uk", False, "")


def test_only_the_topmost_trusted_header_counts_not_a_forged_pass_below_it():
    ours = f"{MX}; dkim=fail header.d=leeds.gov.uk; dmarc=fail header.from=leeds.gov.uk"
    forged = f"{MX}; dkim=pass header.d=leeds.gov.uk; dmarc=pass header.from=leeds.gov.uk"
    result = judge(["mx.evil.test; dmarc=pass header.from=leeds.gov.uk", ours, forged], [MX], "leeds.gov.uk")
    assert result == Authentication("authserv", "leeds.gov.uk", False, ours)


def test_a_dkim_pass_by_a_subdomain_of_the_from_domain_proves_it():
    value = f"{MX}; dkim=pass header.d=mail.leeds.gov.uk header.s=sel; dmarc=none"
    assert judge([value], [MX], "leeds.gov.uk").proven
    # ...and the other way round: a signer at the organizational domain, From a subdomain.
    assert judge([f"{MX}; dkim=pass header.d=leeds.gov.uk"], [MX], "news.leeds.gov.uk").proven


def test_a_dkim_pass_by_an_unrelated_domain_proves_nothing():
    value = f"{MX}; dkim=pass header.d=evil.test; dmarc=fail header.from=leeds.gov.uk"
    assert not judge([value], [MX], "leeds.gov.uk").proven


def test_a_dmarc_fail_or_a_pass_for_another_from_domain_proves_nothing():
    assert not judge([f"{MX}; dmarc=fail header.from=leeds.gov.uk"], [MX], "leeds.gov.uk").proven
    assert not judge([f"{MX}; dmarc=pass header.from=evil.test"], [MX], "leeds.gov.uk").proven
    assert not judge([f"{MX}; dmarc=pass"], [MX], "leeds.gov.uk").proven


def test_gov_uk_is_a_public_suffix_so_two_councils_are_not_aligned():
    assert not judge([f"{MX}; dkim=pass header.d=wigan.gov.uk"], [MX], "leeds.gov.uk").proven
    assert not judge([f"{MX}; dkim=pass header.d=gov.uk"], [MX], "leeds.gov.uk").proven
    assert judge([f"{MX}; dkim=pass header.d=wigan.gov.uk"], [MX], "wigan.gov.uk").proven


def test_an_unlisted_tld_is_not_one_organization():
    # The public suffix list has no ".test": it must not make evil.test and leeds.test one.
    assert not judge([f"{MX}; dkim=pass header.d=evil.test"], [MX], "leeds.test").proven
    assert judge([f"{MX}; dkim=pass header.d=mail.leeds.test"], [MX], "leeds.test").proven


def test_an_unparsable_header_is_ignored_never_raised():
    good = f"{MX}; dmarc=pass header.from=leeds.gov.uk"
    # An untrusted one that does not parse, above ours: ours still counts.
    assert judge(["mx.evil.test; dmarc", "(((", "", good], [MX], "leeds.gov.uk").proven
    # Ours does not parse: nothing proven, and no falling back to one lower down.
    assert judge([f"{MX}; dmarc=pass header.from=", good], [MX], "leeds.gov.uk").proven is False
    assert judge([f"{MX}; = ;;", good], [MX], "leeds.gov.uk") == Authentication("authserv", "leeds.gov.uk", False, "")


def test_without_a_from_domain_or_a_trusted_header_nothing_is_proven():
    assert not judge([f"{MX}; dmarc=pass header.from=leeds.gov.uk"], [MX], None).proven
    assert judge([], [MX], "leeds.gov.uk") == Authentication("authserv", "leeds.gov.uk", False, "")


# --- from_domain(): the one From address, read raw ----------------------------------------


def test_from_domain_reads_the_raw_address_not_a_decoded_display_name():
    assert from_domain(b"From: Jane <Jane.Smith@Leeds.GOV.uk>\r\n\r\nhi") == "leeds.gov.uk"
    spoof = b"From: =?utf-8?q?ceo=40leeds=2Egov=2Euk?= <x@evil.test>\r\n\r\nhi"
    assert from_domain(spoof) == "evil.test"
    assert from_domain(b'From: "boss@leeds.gov.uk" <x@evil.test>\r\n\r\n') == "evil.test"


def test_from_domain_needs_exactly_one_from_header_with_one_address():
    assert from_domain(b"From: a@leeds.gov.uk\r\nFrom: b@evil.test\r\n\r\n") is None
    assert from_domain(b"From: a@leeds.gov.uk, b@evil.test\r\n\r\n") is None
    assert from_domain(b"From: undisclosed-recipients:;\r\n\r\n") is None
    assert from_domain(b"From: jane\r\n\r\n") is None
    assert from_domain(b"To: a@leeds.gov.uk\r\n\r\n") is None
    assert from_domain(b"\xff\xfe\x00garbage") is None


# --- check(): our own DKIM, SPF and DMARC over real DNS ----------------------------------


@functools.lru_cache(maxsize=None)
def _keypair(domain: str) -> tuple[bytes, str]:
    """(PEM private key for dkim.sign, base64 public key for the p= tag)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(public).decode()


def _publish_key(stub: DnsStub, domain: str, selector: str = "sel") -> None:
    stub.add(f"{selector}._domainkey.{domain}", "TXT", f"v=DKIM1; k=rsa; p={_keypair(domain)[1]}")


def _message(sender: str = "jane.smith@leeds.gov.uk", body: str = "Council: Leeds\r\nContact name: Jane Smith\r\n") -> bytes:
    return (
        f"From: Jane Smith <{sender}>\r\nTo: eoi@cib.test\r\nSubject: EOI - Payment by Results pathfinder\r\n"
        f"Date: Mon, 17 May 2027 10:00:00 +0100\r\nMessage-ID: <eoi-1@leeds.gov.uk>\r\n\r\n{body}"
    ).encode()


def _sign(message: bytes, domain: str, selector: str = "sel") -> bytes:
    signature = dkim.sign(
        message, selector.encode(), domain.encode(), _keypair(domain)[0],
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    return signature + message


@pytest.fixture
def leeds(dns_stub: DnsStub) -> DnsStub:
    """leeds.gov.uk as it would publish itself: a DKIM key, DMARC p=reject, SPF for 127.0.0.1."""
    _publish_key(dns_stub, "leeds.gov.uk")
    dns_stub.add("_dmarc.leeds.gov.uk", "TXT", "v=DMARC1; p=reject")
    dns_stub.add("leeds.gov.uk", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    dns_stub.add("leeds.gov.uk", "MX", "10 mx.leeds.gov.uk")
    dns_stub.add("mx.leeds.gov.uk", "A", "127.0.0.1")
    return dns_stub


def _check(raw: bytes, *, ip: str = "", mail_from: str = "", helo: str = "mx.leeds.gov.uk") -> Authentication:
    return check(raw, ip=ip, mail_from=mail_from, helo=helo, authserv_id=MX, domain=from_domain(raw))


def test_a_message_signed_by_its_from_domain_is_proven(leeds):
    result = _check(_sign(_message(), "leeds.gov.uk"))
    assert result.method == "checked" and result.domain == "leeds.gov.uk" and result.proven
    header = authres.all_features().parse_value(result.results)  # what we write parses back
    assert header.authserv_id == MX
    assert [(r.method, r.result) for r in header.results] == [("dkim", "pass"), ("dmarc", "pass")]
    assert header.results[0].header_d == "leeds.gov.uk"
    assert header.results[1].header_from == "leeds.gov.uk" and header.results[1].policy == "reject"


def test_a_burst_from_one_council_asks_dns_for_its_key_and_policy_once(leeds):
    for number in range(5):
        assert _check(_sign(_message(body=f"Council: Leeds\r\nNote: {number}\r\n"), "leeds.gov.uk")).proven
    asked = [name for name, _ in leeds.asked]
    assert asked.count("sel._domainkey.leeds.gov.uk.") == 1 and asked.count("_dmarc.leeds.gov.uk.") == 1


def test_a_message_altered_after_signing_is_not_proven(leeds):
    signed = _sign(_message(), "leeds.gov.uk")
    result = _check(signed.replace(b"Council: Leeds", b"Council: Wigan"))
    assert not result.proven
    assert "dkim=fail" in result.results and "dmarc=fail" in result.results
    forged_from = signed.replace(b"jane.smith@leeds.gov.uk", b"ceo@leeds.gov.uk")
    assert not _check(forged_from).proven


def test_a_message_from_leeds_signed_with_another_domains_key_is_not_proven(leeds):
    _publish_key(leeds, "evil.test")
    result = _check(_sign(_message(), "evil.test"))
    assert not result.proven
    assert "dkim=pass" in result.results and "header.d=evil.test" in result.results  # valid, but not aligned
    assert "dmarc=fail" in result.results


def test_every_signature_is_verified_and_an_aligned_one_proves(leeds):
    _publish_key(leeds, "evil.test")
    raw = _sign(_sign(_message(), "leeds.gov.uk"), "evil.test")  # evil.test's is the topmost
    result = _check(raw)
    assert result.proven
    header = authres.all_features().parse_value(result.results)
    dkims = [(r.result, r.header_d) for r in header.results if r.method == "dkim"]
    assert dkims == [("pass", "evil.test"), ("pass", "leeds.gov.uk")]
    assert "dmarc=pass" in result.results


def test_a_signature_whose_key_is_not_published_fails(leeds):
    result = _check(_sign(_message(), "leeds.gov.uk", selector="gone"))
    assert not result.proven
    assert "dkim=fail" in result.results


def test_an_unsigned_message_is_not_proven(leeds):
    result = _check(_message())
    assert not result.proven
    assert "dkim=none" in result.results and "dmarc=fail" in result.results


def test_spf_aligned_with_the_from_domain_makes_dmarc_pass_without_dkim(leeds):
    # RFC 7489 §4.2: DMARC passes on an aligned SPF pass alone; authheaders does the same.
    result = _check(_message(), ip="127.0.0.1", mail_from="bounces@leeds.gov.uk")
    assert result.proven
    assert "dkim=none" in result.results
    assert "spf=pass" in result.results and "smtp.mailfrom=bounces@leeds.gov.uk" in result.results
    assert "dmarc=pass" in result.results


def test_spf_pass_for_an_unrelated_mail_from_does_not_make_dmarc_pass(leeds):
    leeds.add("bulk.test", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    result = _check(_message(), ip="127.0.0.1", mail_from="bounces@bulk.test", helo="bulk.test")
    assert not result.proven
    assert "spf=pass" in result.results and "dmarc=fail" in result.results


def test_spf_fail_from_another_ip_is_not_proven(leeds):
    result = _check(_message(), ip="192.0.2.7", mail_from="jane.smith@leeds.gov.uk")
    assert not result.proven
    assert "spf=fail" in result.results and "dmarc=fail" in result.results


def test_a_null_mail_from_is_checked_and_aligned_as_postmaster_at_helo(leeds):
    result = _check(_message(), ip="127.0.0.1", mail_from="<>", helo="leeds.gov.uk")
    assert "spf=pass" in result.results and result.proven


def test_a_malformed_message_is_not_proven_and_does_not_raise(leeds):
    for raw in (b"", b"\x00\xff not a message", b"DKIM-Signature: v=1; nonsense\r\nFrom: a@leeds.gov.uk\r\n\r\nx"):
        result = _check(raw, ip="127.0.0.1")
        assert not result.proven
        assert result.results.startswith(f"{MX}; ")


@pytest.mark.parametrize("server", ["silent", "closed"])
def test_a_dns_server_that_does_not_answer_means_not_proven_quickly(server):
    sock, port = silent_port()
    if server == "closed":
        sock.close()  # nothing listens there: ICMP port unreachable
    saved = dns.resolver.default_resolver
    configure_dns([f"127.0.0.1:{port}"], timeout=0.3)
    try:
        started = time.monotonic()
        result = _check(_sign(_message(), "leeds.gov.uk"), ip="127.0.0.1", mail_from="jane.smith@leeds.gov.uk")
        elapsed = time.monotonic() - started
    finally:
        dns.resolver.default_resolver = saved
        sock.close()
    assert not result.proven
    results = {r.method: r.result for r in authres.all_features().parse_value(result.results).results}
    assert results["dkim"] == "temperror" and results["spf"] == "temperror"
    assert results["dmarc"] in ("temperror", "none")  # authheaders reads SERVFAIL as "no record"
    assert elapsed < 3


def test_configure_dns_reads_host_and_port():
    saved = dns.resolver.default_resolver
    try:
        configure_dns(["127.0.0.1:5353", "192.0.2.1", "[::1]:5300"], timeout=1.5)
        resolver = dns.resolver.default_resolver
        assert [(n.address, n.port) for n in resolver.nameservers] == [
            ("127.0.0.1", 5353), ("192.0.2.1", 53), ("::1", 5300)
        ]
        assert resolver.lifetime == resolver.timeout == 1.5
    finally:
        dns.resolver.default_resolver = saved


# --- EmailAuthenticator over a kept row ---------------------------------------------------


def _row(raw: bytes, **meta: str) -> InboundMessage:
    return InboundMessage(
        channel="email", raw=raw, sender="jane.smith@leeds.gov.uk", subject="", status="received",
        meta={"peer": "", "envelope_from": "", "helo": "", **meta}, received_at=datetime.now(timezone.utc),
    )


async def test_behind_a_trusted_server_the_authenticator_judges_its_header():
    raw = (
        f"Authentication-Results: {MX};\r\n dkim=pass header.d=leeds.gov.uk;\r\n dmarc=pass header.from=leeds.gov.uk\r\n"
        "Authentication-Results: mx.evil.test; dmarc=pass header.from=wigan.gov.uk\r\n"
    ).encode() + _message()
    authenticator = EmailAuthenticator(trusted_ids=["MX.cib.test"], authserv_id="intake.cib.test", timeout=1)
    result = await authenticator(_row(raw))
    assert result == Authentication(
        "authserv", "leeds.gov.uk", True, f"{MX}; dkim=pass header.d=leeds.gov.uk; dmarc=pass header.from=leeds.gov.uk"
    )
    # No DNS asked: a forged header claiming our server's id, with no border server to
    # remove it, would be believed, which is why the id is only set behind such a server.
    assert not (await authenticator(_row(_sign(_message(), "leeds.gov.uk")))).proven


async def test_a_mailbox_providers_headers_are_not_believed_unless_named():
    # As Exchange Online and Google stamp a message on arrival: an Authentication-Results
    # without an authserv-id, and ARC-Authentication-Results with one. Anyone could have
    # written either before sending, so neither proves the sender; with Google named in
    # CIB_AUTHSERV_ID its Authentication-Results counts, and still not its ARC header.
    exchange = (
        "Authentication-Results: spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=leeds.gov.uk;\r\n"
        " dkim=pass (signature was verified) header.d=leeds.gov.uk; dmarc=pass action=none\r\n"
        " header.from=leeds.gov.uk; compauth=pass reason=100\r\n"
        "ARC-Authentication-Results: i=1; mx.microsoft.com 1; spf=pass smtp.mailfrom=leeds.gov.uk;\r\n"
        " dmarc=pass action=none header.from=leeds.gov.uk; dkim=pass header.d=leeds.gov.uk\r\n"
    ).encode() + _message()
    google_arc = (
        "ARC-Authentication-Results: i=1; mx.google.com; dkim=pass header.i=@leeds.gov.uk;\r\n"
        " dmarc=pass (p=REJECT) header.from=leeds.gov.uk\r\n"
    ).encode() + _message()
    for trusted in ([], ["mx.microsoft.com"], ["mx.google.com"]):
        authenticator = EmailAuthenticator(trusted_ids=trusted, authserv_id="intake.cib.test", timeout=1)
        for raw in (exchange, google_arc):
            assert not (await authenticator(_row(raw))).proven, (trusted, raw[:60])
    google = (
        "Authentication-Results: mx.google.com;\r\n dkim=pass header.i=@leeds.gov.uk;\r\n"
        " dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=leeds.gov.uk\r\n"
    ).encode() + _message()
    named = EmailAuthenticator(trusted_ids=["mx.google.com"], authserv_id="intake.cib.test", timeout=1)
    assert (await named(_row(google))).proven


async def test_as_the_receiving_server_the_authenticator_checks_itself(leeds):
    authenticator = EmailAuthenticator(trusted_ids=[], authserv_id="intake.cib.test", timeout=2)
    forged_header = f"Authentication-Results: {MX}; dmarc=pass header.from=leeds.gov.uk\r\n".encode()
    signed = await authenticator(_row(_sign(_message(), "leeds.gov.uk")))
    assert signed.method == "checked" and signed.proven and signed.results.startswith("intake.cib.test; dkim=pass")
    by_spf = await authenticator(_row(
        _message(), peer="127.0.0.1", envelope_from="jane.smith@leeds.gov.uk", helo="mx.leeds.gov.uk"
    ))
    assert by_spf.proven and "spf=pass" in by_spf.results
    unproven = await authenticator(_row(forged_header + _message(), peer="192.0.2.7", envelope_from="x@leeds.gov.uk"))
    assert not unproven.proven and "spf=fail" in unproven.results


async def test_a_check_that_overruns_its_time_is_not_proven(monkeypatch):
    release = threading.Event()

    def stuck(raw: bytes, **_: object) -> Authentication:
        release.wait(5)
        return Authentication("checked", "leeds.gov.uk", True, "should never be seen")

    monkeypatch.setattr(authenticate, "check", stuck)
    authenticator = EmailAuthenticator(trusted_ids=[], authserv_id="intake.cib.test", timeout=0.05)
    try:
        started = time.monotonic()
        result = await authenticator(_row(_message()))
        assert time.monotonic() - started < 1
    finally:
        release.set()
        await asyncio.sleep(0)
    assert result.method == "checked" and result.domain == "leeds.gov.uk" and not result.proven
    assert result.results.startswith("intake.cib.test; dkim=temperror")


async def test_the_authenticator_never_raises_on_a_broken_row(monkeypatch):
    def broken(raw: bytes, **_: object) -> Authentication:
        raise RuntimeError("boom")

    monkeypatch.setattr(authenticate, "check", broken)
    authenticator = EmailAuthenticator(trusted_ids=[], authserv_id="intake.cib.test", timeout=1)
    result = await authenticator(_row(b"\x00garbage"))
    assert not result.proven and "temperror" in result.results
    trusting = EmailAuthenticator(trusted_ids=[MX], authserv_id="intake.cib.test", timeout=1)
    assert not (await trusting(_row(b"Authentication-Results: \xff\xfe;;;\r\n\r\n"))).proven
