"""Attachments that cost far more to read than they weigh (tests/hostile_documents.py),
sent over real SMTP to the running service beside an ordinary message. While they are
read, a client in a process of its own (as another mail server or a monitor would be)
keeps asking for SMTP's EHLO and for /healthz: every answer comes within a second. The
sender is told which attachment could not be read and why; both messages are kept,
processed and answered."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from intake.runtime.composition import Runtime, create_service
from intake.mail.attachments import DocumentFile, TOO_LARGE, TOO_LONG, TOO_MANY, read_attachments
from intake.mail.document_limits import MAX_ATTACHMENTS, WorkerLimits
from intake.mail.pool import DocumentPool
from intake.mail.mail_reader import read_email_row
from intake.models import InboundMessage
from tests.hostile_documents import FORM, huge_sheet, many_lines, slow_pdf, word_bomb
from tests.mailer import body_text, message, send, settle
from tests.office_documents import DOCX, XLSX, word_form

SENDER = "jane.smith@camden.gov.uk"
NEIGHBOUR = "ali.khan@bury.gov.uk"
OTHER = "sam.patel@camden.gov.uk"
EOI = """
Council: Bury Metropolitan Borough Council
Contact name: Ali Khan
Contact role: Service Manager
Number of children's centres: 7
"""
# The service's limits, with a shorter wall time so that the test does not wait 10 s.
LIMITS = WorkerLimits(seconds=2.0, message_seconds=6.0)
PATIENCE = 1.0  # seconds an EHLO or a /healthz may take while documents are read


def mail(attachments: list[tuple[str, str, bytes]], *, sender: str = SENDER) -> bytes:
    """A covering note from Outlook with the documents attached."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "eoi@cib.test", "PbR pathfinder EOI"
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message.set_content("Hello,\n\nPlease find attached our completed expression of interest.\n\nKind regards\nJane\n")
    for name, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(message)


@pytest.fixture
async def service(settings_factory: Callable[..., object], clock) -> AsyncIterator[Runtime]:
    runtime = create_service(settings_factory(), clock=clock, document_limits=LIMITS)
    await runtime.start(slack=False, scheduler=False)
    try:
        yield runtime
    finally:
        await runtime.stop()


# The probe's own process: EHLO and GET /healthz until its stdin closes, then the times
# taken as JSON (a probe that failed counts as taking 60 s).
PROBE = """
import http.client, json, smtplib, sys, threading, time
smtp_port, http_port = int(sys.argv[1]), int(sys.argv[2])

def ehlo():
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
        assert client.ehlo()[0] == 250

def healthz():
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
    try:
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
    finally:
        connection.close()

times = {"ehlo": [], "healthz": []}
stopped = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stopped.set()), daemon=True).start()
print("probing", flush=True)
while not stopped.is_set():
    for name, probe in (("ehlo", ehlo), ("healthz", healthz)):
        started = time.perf_counter()
        try:
            probe()
            times[name].append(time.perf_counter() - started)
        except Exception:
            times[name].append(60.0)
    stopped.wait(0.05)
print(json.dumps(times), flush=True)
"""


class Probe:
    """EHLO and GET /healthz, one after the other until stopped, from a process of its own
    with blocking sockets (as another mail server or a monitor): what the service's event
    loop does not answer, it waits for."""

    def __init__(self, runtime: Runtime) -> None:
        self.ports = str(runtime.smtp_port), str(runtime.http_port)
        self.ehlo: list[float] = []
        self.healthz: list[float] = []
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROBE, *self.ports, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert self.process.stdout is not None
        assert await self.process.stdout.readline() == b"probing\n"

    async def stop(self) -> None:
        assert self.process is not None and self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        times = json.loads(await self.process.stdout.readline())
        await self.process.wait()
        self.ehlo, self.healthz = times["ehlo"], times["healthz"]


async def _while_probed(runtime: Runtime, *raws: tuple[bytes, str]) -> Probe:
    """Send each (raw, sender) at once and wait until all are processed and answered,
    probing the service all the while."""
    probe = Probe(runtime)
    await probe.start()
    try:
        codes = await asyncio.gather(*(send(runtime, raw, mail_from=sender) for raw, sender in raws))
        assert [code for code, _ in codes] == [250] * len(raws)
        await settle(runtime)
    finally:
        await probe.stop()
    return probe


@pytest.mark.parametrize("name,content_type,data,said", [
    # Read within its caps: the first 100 columns and 2,000 rows, whatever it declares.
    ("EOI Camden.xlsx", XLSX, huge_sheet(), "We read your attachment EOI Camden.xlsx."),
    ("EOI Camden.pdf", "application/pdf", slow_pdf(),
     f"We could not read your attachment EOI Camden.pdf: {TOO_LONG}."),
    ("EOI Camden.docx", DOCX, word_bomb(), f"We could not read your attachment EOI Camden.docx: {TOO_LARGE}."),
], ids=["huge-sheet", "slow-pdf", "word-bomb"])
async def test_a_hostile_attachment_holds_up_no_one(service, relay, name, content_type, data, said):
    hostile = mail([(name, content_type, data)])
    probe = await _while_probed(service, (hostile, SENDER), (message(EOI, sender=NEIGHBOUR), NEIGHBOUR))
    assert probe.ehlo and probe.healthz
    assert max(probe.ehlo) < PATIENCE, f"EHLO took {max(probe.ehlo):.2f} s while {name} was read"
    assert max(probe.healthz) < PATIENCE, f"/healthz took {max(probe.healthz):.2f} s while {name} was read"
    assert said in body_text(relay.to(SENDER)[-1])
    assert "We have recorded" in body_text(relay.to(NEIGHBOUR)[-1])  # the message sent beside it
    async with service.store.reader() as unit:
        rows = [await unit.inbound.get(i) for i in await unit.inbound.ids()]
    assert [row.status for row in rows if row is not None] == ["processed", "processed"]
    assert any(row is not None and name.encode() in row.raw for row in rows)  # kept whole


async def test_many_hostile_attachments_at_once_leave_the_service_answering(service, relay):
    """Four slow PDFs in one message, two more in another: every worker busy past its
    limit, and each PDF named; the ordinary message is answered."""
    first = mail([(f"Form {n}.pdf", "application/pdf", slow_pdf()) for n in range(4)])
    second = mail([(f"Scan {n}.pdf", "application/pdf", slow_pdf()) for n in range(2)], sender=OTHER)
    probe = await _while_probed(
        service, (first, SENDER), (second, OTHER), (message(EOI, sender=NEIGHBOUR), NEIGHBOUR)
    )
    assert max(probe.ehlo) < PATIENCE and max(probe.healthz) < PATIENCE
    first_reply = body_text(relay.to(SENDER)[-1])
    for n in range(4):
        assert f"We could not read your attachment Form {n}.pdf: {TOO_LONG}." in first_reply
    assert f"We could not read your attachment Scan 1.pdf: {TOO_LONG}." in body_text(relay.to(OTHER)[-1])
    assert "We have recorded" in body_text(relay.to(NEIGHBOUR)[-1])


async def test_documents_quick_to_read_and_slow_to_parse_hold_up_no_one(runtime, relay):
    """Ten documents of 20,000 lines each, read in under a second apiece (the service's
    own limits: 10 s a document): 400,000 characters, of which the parser is given the
    first 200,000, on a thread."""
    lines = mail([(f"Notes {n}.docx", DOCX, many_lines(20_000)) for n in range(MAX_ATTACHMENTS)])
    probe = await _while_probed(runtime, (lines, SENDER), (message(EOI, sender=NEIGHBOUR), NEIGHBOUR))
    assert max(probe.ehlo) < PATIENCE, f"EHLO took {max(probe.ehlo):.2f} s"
    assert max(probe.healthz) < PATIENCE, f"/healthz took {max(probe.healthz):.2f} s"
    reply = body_text(relay.to(SENDER)[-1])
    assert "We read your attachments Notes 0.docx," in reply and "We could not read" not in reply
    assert "We have recorded" in body_text(relay.to(NEIGHBOUR)[-1])


async def test_the_documents_after_the_tenth_are_named_not_read(service, relay):
    forms = [(f"Form {n}.docx", DOCX, word_form(FORM)) for n in range(MAX_ATTACHMENTS + 2)]
    assert (await send(service, mail(forms), mail_from=SENDER))[0] == 250
    await settle(service)
    reply = body_text(relay.to(SENDER)[-1])
    assert "We have recorded" in reply
    assert f"We could not read your attachment Form {MAX_ATTACHMENTS}.docx: {TOO_MANY}." in reply
    assert f"Form {MAX_ATTACHMENTS - 1}.docx: " not in reply


def test_a_worker_past_its_time_is_replaced_and_the_next_document_read():
    pool = DocumentPool(WorkerLimits(workers=1, seconds=1.0, message_seconds=5.0))
    try:
        [[slow]] = pool.open([DocumentFile("slow.pdf", "application/pdf", slow_pdf(pages=1))])
        assert slow.problem == TOO_LONG
        [[form]] = pool.open([DocumentFile("form.docx", DOCX, word_form(FORM))])
        assert form.read and "Council: London Borough of Camden" in form.text
    finally:
        pool.close()


def test_a_message_past_its_time_names_what_was_not_read():
    pool = DocumentPool(WorkerLimits(workers=1, seconds=5.0, message_seconds=1.0))
    try:
        started = time.monotonic()
        found = read_attachments([DocumentFile(f"{n}.pdf", "application/pdf", slow_pdf(pages=1)) for n in range(3)],
                                 pool.open)
        assert time.monotonic() - started < 3
        assert [a.problem for a in found] == [TOO_LONG] * 3
    finally:
        pool.close()


def test_the_quick_reader_opens_no_document():
    row = InboundMessage(channel="email", raw=mail([("slow.pdf", "application/pdf", slow_pdf())]), meta={})
    started = time.monotonic()
    message = read_email_row(row)
    assert time.monotonic() - started < 1
    assert message.attachments == () and "Please find attached" in message.text
