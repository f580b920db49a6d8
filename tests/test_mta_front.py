"""The MX in deploy/postfix, run from Debian's postfix, opendkim and opendmarc on loopback
(tests/mta_front.py): the service believes Authentication-Results stamped with its
CIB_AUTHSERV_ID, so the front must drop every such header a sender wrote and stamp its
own; and it must reach the service by name from Postfix's chroot."""
from __future__ import annotations

import asyncio
import re
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from intake.runtime.composition import create_service
from tests.conftest import Relay
from tests.mailer import message
from tests.dovecot import free_port
from tests.mta_front import MX_HOSTNAME, SHIPPED, Front, listening, mta_front, outside_address, until
from tests.test_mailbox_crash import start_serving
from tests.test_mailbox_crash import until as until_async
from tests.test_sender_authentication import _publish_key, _sign
from tests.test_trust import WIGAN

FORGED = f"{MX_HOSTNAME}; dkim=pass header.d=wigan.gov.uk header.s=sel; spf=pass smtp.mailfrom=wigan.gov.uk; dmarc=pass (p=reject) header.from=wigan.gov.uk"


@pytest.fixture
def sink() -> Iterator[tuple[Relay, int]]:
    """The service's SMTP port, as far as the front's own tests need it: the tests' relay,
    served on a thread (these tests wait by blocking), keeping what arrives."""
    port, handler = free_port(), Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def front(sink: tuple[Relay, int]) -> Iterator[Front]:
    with mta_front(sink[1]) as running:
        publish_wigan(running)
        yield running


def publish_wigan(front: Front) -> None:
    """wigan.gov.uk's DKIM key and DMARC policy, and no SPF record: a DMARC pass can only
    come from the DKIM signature."""
    _publish_key(front.dns, "wigan.gov.uk")
    front.dns.add("_dmarc.wigan.gov.uk", "TXT", "v=DMARC1; p=reject")


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def wigan_message(*, message_id: str) -> bytes:
    return _crlf(message(WIGAN, sender="priya.shah@wigan.gov.uk", subject="PbR pathfinder EOI", message_id=message_id))


def forged(raw: bytes) -> bytes:
    """`raw` with passes written by the sender: as our MX (also in capitals, folded, and
    behind a comment) and as another server."""
    return (f"Authentication-Results: {FORGED}\r\n"
            f"Authentication-Results: {MX_HOSTNAME.upper()};\r\n\tdkim=pass header.d=wigan.gov.uk\r\n"
            f"Authentication-Results: (relayed) {MX_HOSTNAME}; dmarc=pass header.from=wigan.gov.uk\r\n"
            "Authentication-Results: mx.wigan.gov.uk; dkim=pass header.d=wigan.gov.uk\r\n").encode() + raw


def signed(raw: bytes) -> bytes:
    return _sign(raw, "wigan.gov.uk")


def submit(front: Front, raw: bytes, sender: str = "priya.shah@wigan.gov.uk") -> None:
    """Hand `raw` to the front as a mail server on the internet would: from an address
    that is not loopback (which the milters would take for the machine itself)."""
    client = (outside_address(), 0)
    with smtplib.SMTP("127.0.0.1", front.port, local_hostname="mail.wigan.gov.uk", source_address=client, timeout=30) as smtp:
        smtp.sendmail(sender, ["eoi@cib.test"], raw)


def arrived(sink: Relay, front: Front, message_id: str) -> EmailMessage:
    def found() -> EmailMessage | None:
        return next((m for m in sink.messages if m["Message-ID"] == message_id), None)

    try:
        until(found, within=60, what=f"{message_id} at the service")
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}\n{front.log()}") from None
    return found()  # type: ignore[return-value]


def ours(mail: EmailMessage) -> list[str]:
    """The Authentication-Results with our authserv-id (in any case, behind any comment), unfolded."""
    values = [" ".join(str(v).split()) for v in mail.get_all("Authentication-Results") or []]
    return [v for v in values if re.sub(r"\([^)]*\)", "", v.split(";", 1)[0]).strip().lower() == MX_HOSTNAME]


# --- 1 and 2: what reaches the service -----------------------------------------------------


def test_a_pass_written_by_the_sender_as_our_mx_is_removed(front, sink):
    submit(front, forged(wigan_message(message_id="<forged@wigan.gov.uk>")))
    mail = arrived(sink[0], front, "<forged@wigan.gov.uk>")
    headers = ours(mail)
    # Every one the sender wrote in our name is gone, whatever it held (RemoveARAll): only
    # the three milter verdicts are left. Another server's is kept; the service ignores it.
    assert len(headers) == 3, headers
    assert FORGED not in headers and not any("header.s=sel" in h for h in headers), headers
    # What is left is the milters' own verdict on an unsigned message: nothing passes.
    assert any("dkim=none" in h for h in headers), headers
    assert any("dmarc=fail" in h or "dmarc=none" in h for h in headers), headers
    assert not any("=pass" in h for h in headers), headers


def test_a_message_signed_by_its_from_domain_is_stamped_pass(front, sink):
    submit(front, signed(wigan_message(message_id="<signed@wigan.gov.uk>")))
    headers = ours(arrived(sink[0], front, "<signed@wigan.gov.uk>"))
    assert any("dkim=pass" in h and "header.d=wigan.gov.uk" in h for h in headers), headers
    assert any("dmarc=pass" in h and "header.from=wigan.gov.uk" in h for h in headers), headers
    # The key was fetched from the stub, through the milter's own resolver.
    assert ("sel._domainkey.wigan.gov.uk.", "TXT") in front.dns.asked


def test_a_signed_message_with_a_forged_pass_keeps_only_the_milters_verdict(front, sink):
    # A sender's header above a good signature must not stand in for, or beside, ours.
    submit(front, forged(signed(wigan_message(message_id="<both@wigan.gov.uk>"))))
    headers = ours(arrived(sink[0], front, "<both@wigan.gov.uk>"))
    assert FORGED not in headers, headers
    methods = sorted(h.split(";")[1].split("=")[0].strip() for h in headers)
    assert methods == ["dkim", "dmarc", "spf"], headers  # one verdict per milter check, none of the sender's


# --- 4: relayed by name from Postfix's chroot ---------------------------------------------


def test_the_relay_is_reached_by_name_from_the_chroot_as_debian_ships_it(front, sink):
    master = (front.root / "etc" / "master.cf").read_text().splitlines()
    [smtp] = [line.split() for line in master if line.split()[:2] == ["smtp", "unix"]]
    assert smtp[4] in ("y", "-"), smtp  # chrooted (compatibility_level 3.6: "-" is y)
    submit(front, wigan_message(message_id="<by-name@wigan.gov.uk>"))
    arrived(sink[0], front, "<by-name@wigan.gov.uk>")
    assert "relay=intake.cib.test[127.0.0.1]" in front.log()
    # The chroot's resolv.conf is what Debian's configure-instance.sh copied in; the
    # container runs the same script before Postfix starts.
    assert (front.root / "spool" / "etc" / "resolv.conf").read_text() == (front.root / "resolv.conf").read_text()
    assert "/usr/lib/postfix/configure-instance.sh" in (SHIPPED / "entrypoint.sh").read_text()


# --- 3: end to end, into `cib serve` ----------------------------------------------------------


@pytest.fixture
def service_port() -> int:
    return free_port()


@pytest.fixture
def front_of_service(service_port: int) -> Iterator[Front]:
    with mta_front(service_port) as running:
        publish_wigan(running)
        yield running


async def test_cib_serve_behind_the_front_proves_the_signed_sender_only(front_of_service, service_port, relay: Relay,
                                                                         settings_factory, database_url, tmp_path: Path):
    settings = {
        "CIB_DATABASE_URL": database_url, "CIB_SMTP_HOST": "127.0.0.1", "CIB_SMTP_PORT": str(service_port),
        "CIB_HTTP_PORT": "0", "CIB_RELAY_HOST": "127.0.0.1", "CIB_RELAY_PORT": str(relay.port),
        "CIB_INTAKE_ADDRESSES": "eoi@cib.test", "CIB_FROM_ADDRESS": "CIB intake <eoi@cib.test>",
        "CIB_TEAM_EMAILS": "team@local.gov.uk", "CIB_AUTHSERV_ID": MX_HOSTNAME, "CIB_SCHEDULER_ENABLED": "false",
        "CIB_OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    serving = await start_serving(tmp_path, settings)
    try:
        await until_async(lambda: listening(service_port), within=60)
        # The forger first: with nothing on record yet, a believed pass would make its
        # entry the council's verified one.
        impostor = message(WIGAN, sender="eve@wigan.gov.uk", subject="PbR pathfinder EOI", message_id="<eve@wigan.gov.uk>")
        await asyncio.to_thread(submit, front_of_service, forged(_crlf(impostor)), "eve@wigan.gov.uk")
        await asyncio.to_thread(submit, front_of_service, signed(wigan_message(message_id="<priya@wigan.gov.uk>")))
        answered = {"<eve@wigan.gov.uk>", "<priya@wigan.gov.uk>"}
        await until_async(lambda: answered <= {m["In-Reply-To"] for m in relay.messages}, within=90)
    finally:
        serving.terminate()
        await asyncio.wait_for(serving.wait(), timeout=60)
    runtime = create_service(settings_factory(authserv_id=[MX_HOSTNAME]))
    try:
        async with runtime.store.reader() as unit:
            rows = {row.sender: row for row in [await unit.inbound.get(i) for i in await unit.inbound.ids()]}
        submissions = (await runtime.service.export())["submissions"]
    finally:
        await runtime.store.close()
    assert rows["eve@wigan.gov.uk"].authentication["proven"] is False, rows["eve@wigan.gov.uk"].authentication
    assert rows["priya.shah@wigan.gov.uk"].authentication["proven"] is True
    assert "dmarc=pass" in rows["priya.shah@wigan.gov.uk"].authentication["results"]
    assert [s["verified"] for s in submissions if s["sender"] == "priya.shah@wigan.gov.uk"] == [True], submissions
    assert all(s["verified"] is False for s in submissions if s["sender"] == "eve@wigan.gov.uk"), submissions

