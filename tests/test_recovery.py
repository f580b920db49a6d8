"""Processing that recovers by itself: messages a storage outage stopped after their 250
are processed once the store is back, and a message our code failed on is tried again
with backoff, all while the service runs; an outage is one line in the log."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from intake.models import InboundMessage
from tests.mailer import body_text, message, send, settle, stamp

PBR = """
    Council: Wigan
    Contact name: Alex Morgan
    Contact role: Head of Service
    Number of children's centres: 7
"""


def _break(runtime, error: Exception, times: int) -> list[int]:
    """The pipeline fails `times` times with `error` (the store down, or a bug), then works."""
    real = runtime.service.pipeline._prepare
    calls: list[int] = []

    async def failing(inbound_id, **kwargs):
        calls.append(inbound_id)
        if len(calls) <= times:
            raise error
        return await real(inbound_id, **kwargs)

    runtime.service.pipeline._prepare = failing
    return calls


async def _statuses(runtime) -> list[str]:
    async with runtime.store.reader() as unit:
        return [row.status for row in await unit.inbound.since(runtime.clock() - timedelta(days=1))]


async def test_messages_kept_before_an_outage_are_processed_when_the_store_is_back(runtime, relay, clock, caplog):
    down = OperationalError("UPDATE inbound_messages ...", {}, Exception("disk I/O error"))
    _break(runtime, down, times=3)
    caplog.set_level(logging.DEBUG)
    for n in range(3):
        await send(runtime, message(PBR, sender="alex@wigan.gov.uk", subject=f"EOI {n}",
                                    message_id=f"<eoi-{n}@wigan.gov.uk>"))
    await settle(runtime)
    assert await _statuses(runtime) == ["received"] * 3 and relay.messages == []
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "processing" in r.getMessage()]
    assert len(warnings) == 1 and not any(r.exc_info for r in caplog.records if r.levelno >= logging.WARNING)

    assert await runtime.recover_once() == 0  # too soon to call them stuck
    clock.set(clock() + timedelta(minutes=2))
    assert await runtime.recover_once() == 3
    await settle(runtime)
    assert await _statuses(runtime) == ["processed"] * 3
    assert len(relay.to("alex@wigan.gov.uk")) == 3
    assert any("works again" in r.getMessage() for r in caplog.records)


async def test_a_message_our_code_failed_on_is_tried_again_with_backoff(runtime, relay, clock):
    calls = _break(runtime, ValueError("a bug"), times=1)
    await send(runtime, message(PBR, sender="alex@wigan.gov.uk", subject="EOI", message_id="<eoi@wigan.gov.uk>"))
    await settle(runtime)
    assert await _statuses(runtime) == ["failed"]
    async with runtime.store.reader() as unit:
        [row] = await unit.inbound.since(clock() - timedelta(days=1))
        assert row.meta["failures"] == 1

    clock.set(clock() + timedelta(seconds=30))
    assert await runtime.recover_once() == 0  # the first retry waits a minute
    clock.set(clock() + timedelta(seconds=40))
    assert await runtime.recover_once() == 1
    await settle(runtime)
    assert len(calls) == 2 and await _statuses(runtime) == ["processed"]
    assert "We have recorded" in body_text(relay.to("alex@wigan.gov.uk")[-1])


async def test_a_bug_inside_the_transaction_marks_the_message_failed(runtime, relay, clock, monkeypatch):
    """A step that fails after the transaction has written (and so is rolled back) leaves
    the message failed, with why, to be tried again: not stuck as received."""
    from intake.pipeline import pipeline, steps

    async def failing(run):  # noqa: ANN001, ANN202
        raise ValueError("a bug after the entry was written")

    monkeypatch.setattr(pipeline, "COMMIT", tuple(
        failing if step is steps.keep_questions else step for step in pipeline.COMMIT
    ))
    await send(runtime, message(PBR, sender="alex@wigan.gov.uk", subject="EOI", message_id="<eoi@wigan.gov.uk>"))
    await settle(runtime)
    assert await _statuses(runtime) == ["failed"] and relay.messages == []
    async with runtime.store.reader() as unit:
        [row] = await unit.inbound.since(clock() - timedelta(days=1))
        assert "a bug after the entry was written" in row.detail and row.meta["failures"] == 1
        assert await unit.submissions.all() == []  # what it wrote was rolled back


async def test_after_eight_failures_a_message_waits_for_a_person(runtime, clock):
    async with runtime.store.unit() as unit:
        unit.session.add(InboundMessage(channel="email", raw=b"Subject: x\r\n\r\nx", received_at=clock(),
                                        status="failed", processed_at=clock(), meta={"failures": 8}))
    clock.set(clock() + timedelta(days=1))
    assert await runtime.recover_once() == 0


async def test_a_line_longer_than_the_rfc_allows_is_kept_and_processed(runtime, relay):
    import smtplib

    long_line = "Support needed: " + "help reviewing sufficiency of our centres, " * 250  # about 10 KB
    raw = message(f"Council: Wigan\nContact name: Alex Morgan\nContact role: Head of Service\n{long_line}",
                  sender="alex@wigan.gov.uk", subject="Children's centres support")
    raw = raw.replace(b"Content-Transfer-Encoding: quoted-printable", b"Content-Transfer-Encoding: 8bit")
    assert max(len(line) for line in raw.split(b"\n")) > 1000 or b"=\n" in raw
    def deliver() -> dict:
        with smtplib.SMTP("127.0.0.1", runtime.smtp_port, timeout=10) as client:
            return client.sendmail("alex@wigan.gov.uk", ["eoi@cib.test"], raw.replace(b"=\n", b""))

    assert await asyncio.to_thread(deliver) == {}  # 250, not "500 Line too long"
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["offer"] == "children-centres-support" and len(submission["fields"]["support_needed"]) > 5000


def _nested(depth: int) -> bytes:
    """An expression of interest inside `depth` levels of multipart/mixed."""
    body = (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            b"Council: Wigan\r\nContact name: Alex Morgan\r\nContact role: Head of Service =E2=80=93 Early Help\r\n"
            b"Support needed: reviewing the sufficiency of our centres\r\n")
    for level in range(depth):
        boundary = f"level-{level}".encode()
        body = (b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n--' + boundary + b"\r\n"
                + body + b"\r\n--" + boundary + b"--\r\n")
    return (b"From: Alex Morgan <alex@wigan.gov.uk>\r\nTo: eoi@cib.test\r\n"
            b"Subject: Children's centres support\r\nMessage-ID: <deep-2000@wigan.gov.uk>\r\n"
            b"MIME-Version: 1.0\r\n" + body)


async def test_a_message_nested_two_thousand_levels_deep_is_kept_and_read(runtime, relay):
    import smtplib

    from intake.mail.extract import read_email
    from workspace.message_view import attachments

    raw = stamp(_nested(2000))
    assert read_email(raw).subject == "Children's centres support"

    def deliver() -> dict:
        with smtplib.SMTP("127.0.0.1", runtime.smtp_port, timeout=30) as client:
            return client.sendmail("alex@wigan.gov.uk", ["eoi@cib.test"], raw)

    assert await asyncio.to_thread(deliver) == {}
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["offer"] == "children-centres-support" and submission["council"] == "Wigan Metropolitan Borough Council"
    assert submission["fields"]["contact_role"] == "Head of Service – Early Help"
    [reply] = relay.to("alex@wigan.gov.uk")
    assert reply["Subject"].startswith("Re: Children's centres support")
    async with runtime.store.reader() as unit:
        [inbound_id] = await unit.inbound.ids()
        row = await unit.inbound.get(inbound_id)
    assert row is not None and attachments(row) == []  # the team's page lists none, and does not fail
