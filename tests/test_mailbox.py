"""The mailbox channel: mail fetched from a real IMAP server (Dovecot, tests/dovecot.py),
kept, answered through the test relay, and moved to the done mailbox."""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from intake.mail.imap_url import ImapTarget, parse_imap_url
from intake.mail import mailbox as mailbox_module
from intake.mail.imap_session import ImapSession
from intake.mail.mailbox import backoff, mailbox_inbound
from intake.runtime.checks import check_files
from intake.runtime.composition import (
    Runtime,
    create_service,
    mailbox_check,
    template_filters,
)
from tests.conftest import Relay
from tests.dovecot import PASSWORD, Dovecot, dovecot  # noqa: F401 - the fixture
from tests.mailer import message, settle, stamp

PBR = """
    Council: London Borough of Camden
    Contact name: Jane Smith
    Contact role: Head of Early Help
    Number of children's centres: 12
"""


# The address, read: a pure function.

@pytest.mark.parametrize("url, expected", [
    ("imaps://eoi@mail.example.org/INBOX", ImapTarget("imaps", "eoi", "mail.example.org", 993, "INBOX")),
    ("imaps://eoi@council.gov.uk@outlook.office365.com/INBOX",
     ImapTarget("imaps", "eoi@council.gov.uk", "outlook.office365.com", 993, "INBOX")),
    ("imap://eoi%40cib.test@127.0.0.1:1143/Intake%20mail",
     ImapTarget("imap", "eoi@cib.test", "127.0.0.1", 1143, "Intake mail")),
    ("IMAPS://eoi@Mail.Example.org:10993", ImapTarget("imaps", "eoi", "mail.example.org", 10993, "INBOX")),
    ("imap://eoi@[::1]:143/INBOX", ImapTarget("imap", "eoi", "::1", 143, "INBOX")),
])
def test_imap_url_is_read(url: str, expected: ImapTarget) -> None:
    assert parse_imap_url(url) == expected


@pytest.mark.parametrize("url, says", [
    ("https://eoi@mail.example.org/INBOX", "imaps://"),
    ("imaps://mail.example.org/INBOX", "user"),
    ("imaps://eoi:secret@mail.example.org/INBOX", "CIB_IMAP_PASSWORD"),
    ("imaps://eoi@/INBOX", "IMAP server"),
    ("imaps://eoi@mail.example.org:99999/INBOX", "not a port"),
    ("imaps://eoi@mail.example.org/INBOX?x=1", "no query"),
])
def test_bad_imap_url_says_why(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_imap_url(url)


def test_loopback_and_shown_url() -> None:
    assert parse_imap_url("imap://u@127.0.0.1/INBOX").loopback
    assert parse_imap_url("imap://u@localhost/INBOX").loopback
    assert not parse_imap_url("imap://u@mail.example.org/INBOX").loopback
    assert parse_imap_url("imap://u@[::1]:143/X").shown() == "imap://u@[::1]:143/X"


def test_backoff_doubles_up_to_a_limit() -> None:
    assert [backoff(n, at_most=10) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_mailbox_inbound_reads_the_envelope_from_headers() -> None:
    raw = b"Return-Path: <bounce@camden.gov.uk>\r\nDelivered-To: eoi+confirm-abc@cib.test\r\n" + message(
        "hello", message_id="<m1@camden.gov.uk>")
    inbound = mailbox_inbound(raw, source="imaps://eoi@x:993/INBOX")
    assert inbound.channel == "email" and inbound.external_id == "<m1@camden.gov.uk>"
    assert inbound.sender == "bounce@camden.gov.uk"
    assert "eoi+confirm-abc@cib.test" in inbound.meta["rcpt_tos"]
    null = mailbox_inbound(b"Return-Path: <>\r\n" + message("hello"), source="s")
    assert null.meta["envelope_from"] == ""  # a null return path: never answered
    assert null.sender == "jane.smith@camden.gov.uk"
    # No Message-ID: the content's hash, as over SMTP.
    assert mailbox_inbound(b"Subject: x\r\n\r\nhi\r\n", source="s").external_id.startswith("sha256:")


# Against Dovecot.

async def wait_for(condition: Callable[[], Any], *, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.fixture
def mailbox_settings(settings_factory: Callable[..., Any], dovecot: Dovecot) -> Callable[..., Any]:  # noqa: F811
    def make(**overrides: Any) -> Any:
        values = {"imap_url": dovecot.url, "imap_password": PASSWORD, "imap_poll_seconds": 0.5}
        return settings_factory(**{**values, **overrides})

    return make


@pytest.fixture
async def started(mailbox_settings: Callable[..., Any], clock: Any) -> AsyncIterator[Callable[..., Any]]:
    runtimes: list[Runtime] = []

    async def start(*, use_move: bool = True, use_idle: bool = True, **overrides: Any) -> Runtime:
        runtime = create_service(mailbox_settings(**overrides), clock=clock)
        assert runtime.mailbox is not None
        runtime.mailbox.use_move, runtime.mailbox.use_idle = use_move, use_idle
        await runtime.start(slack=False, scheduler=False, http=False)
        runtimes.append(runtime)
        return runtime

    yield start
    for runtime in runtimes:
        await runtime.stop()


def submission(n: int) -> bytes:
    return stamp(message(PBR, subject="PbR pathfinder", message_id=f"<eoi-{n}@camden.gov.uk>"))


async def answered(runtime: Runtime, relay: Relay, count: int) -> None:
    await wait_for(lambda: len(relay.messages) >= count)
    await settle(runtime)


async def test_waiting_mail_is_kept_answered_and_moved(started, dovecot, relay) -> None:  # noqa: F811
    dovecot.append(submission(1))
    dovecot.append(stamp(message("When is the PbR deadline?", subject="A question",
                                 message_id="<eoi-2@camden.gov.uk>")))
    runtime = await started()
    assert runtime.smtp_server is None  # CIB_SMTP_PORT=0 with a mailbox: no SMTP listener
    await answered(runtime, relay, 2)
    await wait_for(lambda: dovecot.count("Processed") == 2)
    assert dovecot.count("INBOX") == 0
    assert sorted(str(m["In-Reply-To"]) for m in relay.messages) == ["<eoi-1@camden.gov.uk>", "<eoi-2@camden.gov.uk>"]
    assert [s["channel"] for s in (await runtime.service.export())["submissions"]] == ["email"]
    _, report = await runtime.operations.health()
    assert report["mailbox"]["connected"] is True and report["mailbox"]["waiting"] == 0
    assert report["mailbox"]["last_fetch"] is not None
    metrics = (await runtime.operations.metrics()).decode()
    assert "cib_mailbox_connected 1.0" in metrics


async def test_mail_arriving_while_running_is_answered(started, dovecot, relay) -> None:  # noqa: F811
    runtime = await started()
    await wait_for(lambda: runtime.mailbox is not None and runtime.mailbox.state.last_fetch is not None)
    dovecot.append(submission(3))
    await answered(runtime, relay, 1)
    assert relay.messages[0]["In-Reply-To"] == "<eoi-3@camden.gov.uk>"
    await wait_for(lambda: dovecot.count("INBOX") == 0)


async def test_kept_but_not_moved_is_not_answered_twice(settings_factory, started, dovecot, relay, clock) -> None:  # noqa: F811
    # As if the service stopped between keeping the message and moving it.
    raw = submission(4)
    dovecot.append(raw)
    before = create_service(settings_factory(), clock=clock)
    await before.start(slack=False, scheduler=False, http=False)
    try:
        kept = await before.service.keep(mailbox_inbound(raw, source=dovecot.url))
        before.queue.put(kept.id)
        await settle(before)
    finally:
        await before.stop()
    assert len(relay.messages) == 1
    runtime = await started()
    await wait_for(lambda: dovecot.count("Processed") == 1)
    await settle(runtime)
    assert dovecot.count("INBOX") == 0
    assert len(relay.messages) == 1


async def test_a_dropped_connection_is_recovered(started, dovecot, relay) -> None:  # noqa: F811
    runtime = await started()
    assert runtime.mailbox is not None
    await wait_for(lambda: runtime.mailbox.state.connected)
    dovecot.stop()
    await wait_for(lambda: not runtime.mailbox.state.connected)
    health = (await runtime.operations.health())[1]["mailbox"]
    assert health["connected"] is False and health["error"]
    dovecot.start()
    dovecot.append(submission(5))
    await answered(runtime, relay, 1)
    await wait_for(lambda: dovecot.count("Processed") == 1)
    assert runtime.mailbox.state.connected


async def test_idle_notices_new_mail_within_seconds(started, dovecot, relay) -> None:  # noqa: F811
    # Polling every 30 s would take up to 30 s: IDLE is told of the message as it arrives.
    runtime = await started(imap_poll_seconds=30)
    assert runtime.mailbox is not None
    await wait_for(lambda: runtime.mailbox.state.last_fetch is not None)
    await asyncio.sleep(0.5)  # well into the IDLE
    began = time.monotonic()
    dovecot.append(submission(10))
    await wait_for(lambda: dovecot.count("Processed") == 1, within=5)
    assert time.monotonic() - began < 5
    await answered(runtime, relay, 1)


async def test_idle_is_renewed_before_the_servers_timeout(started, dovecot, relay, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(mailbox_module, "IDLE_RENEW", 0.3)
    idles: list[float] = []
    idle = ImapSession.idle

    def counted(self: ImapSession, seconds: float, interrupted: threading.Event) -> bool:
        idles.append(seconds)
        return idle(self, seconds, interrupted)

    monkeypatch.setattr(ImapSession, "idle", counted)
    runtime = await started(imap_poll_seconds=30)
    await wait_for(lambda: len(idles) >= 4)  # each IDLE ended by DONE and begun again
    assert max(idles) <= 0.3
    dovecot.append(submission(11))
    await answered(runtime, relay, 1)
    await wait_for(lambda: dovecot.count("Processed") == 1)


async def test_polling_where_idle_is_not_offered(started, dovecot, relay, monkeypatch) -> None:  # noqa: F811
    capable = ImapSession.capable
    monkeypatch.setattr(ImapSession, "capable", lambda self, name: name != "IDLE" and capable(self, name))
    monkeypatch.setattr(ImapSession, "idle", lambda *args: pytest.fail("IDLE used where not offered"))
    runtime = await started(imap_poll_seconds=0.5)
    await wait_for(lambda: runtime.mailbox is not None and runtime.mailbox.state.last_fetch is not None)
    dovecot.append(submission(12))
    await answered(runtime, relay, 1)
    await wait_for(lambda: dovecot.count("Processed") == 1)


async def test_a_stop_while_idling_is_prompt(started, dovecot) -> None:  # noqa: F811
    runtime = await started(imap_poll_seconds=30)
    await wait_for(lambda: runtime.mailbox is not None and runtime.mailbox.state.last_fetch is not None)
    await asyncio.sleep(0.3)
    began = time.monotonic()
    assert runtime.mailbox is not None
    await runtime.mailbox.stop()
    assert time.monotonic() - began < 3


async def test_copy_and_expunge_where_move_is_not_used(started, dovecot, relay) -> None:  # noqa: F811
    dovecot.append(submission(6))
    runtime = await started(use_move=False, imap_done_mailbox="Done mail")
    await answered(runtime, relay, 1)
    await wait_for(lambda: dovecot.count("Done mail") == 1)
    assert dovecot.count("INBOX") == 0


async def test_a_message_that_cannot_be_kept_stays(started, dovecot, relay) -> None:  # noqa: F811
    runtime = await started()
    assert runtime.mailbox is not None
    keep = runtime.mailbox.keep
    failures = 0

    async def failing(inbound: Any) -> Any:
        nonlocal failures
        failures += 1
        if failures == 1:
            raise RuntimeError("the database is away")
        return await keep(inbound)

    runtime.mailbox.keep = failing
    dovecot.append(submission(7))
    await wait_for(lambda: failures >= 1)
    assert dovecot.count("INBOX") == 1  # not kept: left where it was
    await answered(runtime, relay, 1)  # tried again after its backoff
    await wait_for(lambda: dovecot.count("Processed") == 1)


def test_cib_check_counts_the_waiting_mail(mailbox_settings, dovecot) -> None:  # noqa: F811
    dovecot.append(submission(8))
    dovecot.append(submission(9))
    ok, detail, warning = mailbox_check(mailbox_settings())
    assert ok and not warning and "2 message(s) waiting" in detail
    [finding] = [f for f in check_files(mailbox_settings(), filters=template_filters()) if f.what == "mailbox"]
    assert finding.ok and "2 message(s) waiting" in finding.detail
    ok, detail, _ = mailbox_check(mailbox_settings(imap_password="wrong"))
    assert not ok and "refused the login as eoi@cib.test" in detail
    ok, detail, warning = mailbox_check(mailbox_settings(imap_url=f"imap://eoi@127.0.0.1:{dovecot.port}/Nowhere"))
    assert not ok and "Nowhere" in detail
    dovecot.stop()
    ok, detail, warning = mailbox_check(mailbox_settings())
    assert ok and warning and "could not be reached" in detail
