"""Whether what a sender attaches can hold up the service: `cib serve` runs as its own
process, and a probe keeps timing an SMTP EHLO, GET /healthz and a workspace page while
mail arrives, quiet traffic and hostile documents in turn.

    python benchmarks/hostile_documents.py [--seconds 20] [--rounds 2] [--interval 2]

- quiet (the baseline): councils' ordinary forms, one message every `--interval` seconds
  for `--seconds`: a Word, an Excel or a PDF form attached, or the lines in the body.
- hostile: at the same rate, messages each carrying the documents of
  tests/hostile_documents.py: a 30-page PDF whose pages share one content stream that
  inflates to 400,000 text operators (9 KB; minutes to extract), a Word zip bomb under the
  50 MB unpacked limit (135 KB; gigabytes of tree), a workbook declaring the largest sheet
  Excel allows (1.6 KB), and a Word document of 50,000 one-letter lines (6 KB; read in a
  second, 100,000 characters to parse).

Each phase is probed from its first message until every message in it is answered, so
the hostile phase covers all the reading of its documents (each PDF runs into the 10 s
limit). The two alternate for `--rounds` rounds on one service, so that a busy moment on
the machine hits both alike. The probe runs on a thread of its own with blocking
sockets, a new connection each time, as another mail server or a monitor would. Target:
the hostile phase's p99 within twice the quiet one's, for every probe.
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import re
import smtplib
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.smtp import SMTP  # noqa: E402

from support import BORDER, TEAM, Service, free_port, send, service_env  # noqa: E402

from tests.hostile_documents import FORM, huge_sheet, many_lines, slow_pdf, word_bomb  # noqa: E402
from tests.office_documents import DOCX, XLSX, excel_form, pdf, word_form  # noqa: E402

PROBES = ("EHLO", "GET /healthz", "GET /team/sign-in")
UNREAD = re.compile(r"We could not read your attachment (.+?): (.+?)\.$", re.MULTILINE)


class Relay:
    """Where the service's replies go: each kept, by recipient."""

    def __init__(self) -> None:
        self.replies: dict[str, bytes] = {}

    async def handle_DATA(self, server, session, envelope) -> str:
        for address in envelope.rcpt_tos:
            self.replies[address.lower()] = envelope.original_content or envelope.content
        return "250 OK"

    def unread(self, senders: list[str]) -> dict[str, int]:
        """How many attachments the replies to `senders` named as not read, by reason."""
        reasons: dict[str, int] = {}
        for sender in senders:
            raw = self.replies.get(sender)
            if raw is None:
                continue
            body = BytesParser(policy=default).parsebytes(raw).get_body(("plain",))
            for _, reason in UNREAD.findall(body.get_content() if body is not None else ""):
                reasons[reason] = reasons.get(reason, 0) + 1
        return reasons


class Probe:
    """EHLO, /healthz and a workspace page, one after another until stopped; each time
    taken from opening the connection to the answer."""

    def __init__(self, smtp: int, http: int) -> None:
        self.smtp, self.http = smtp, http
        self.times: dict[str, list[float]] = {name: [] for name in PROBES}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self._time("EHLO", self._ehlo)
            self._time("GET /healthz", lambda: self._get("/healthz"))
            self._time("GET /team/sign-in", lambda: self._get("/team/sign-in"))
            self.stopped.wait(0.02)

    def _time(self, name: str, probe: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            probe()
        except (OSError, smtplib.SMTPException, http.client.HTTPException):
            pass  # counted at the time it took to fail
        self.times[name].append(time.perf_counter() - started)

    def _ehlo(self) -> None:
        client = smtplib.SMTP("127.0.0.1", self.smtp, timeout=60)
        try:
            client.ehlo("probe.example")
        finally:
            client.close()

    def _get(self, path: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.http, timeout=60)
        try:
            connection.request("GET", path)
            connection.getresponse().read()
        finally:
            connection.close()


def _message(sender: str, attachments: list[tuple[str, str, bytes]], body: str) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "eoi@cib.test", "PbR pathfinder EOI"
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@{sender.rpartition('@')[2]}>"
    mail.set_content(body)
    for name, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return f"Authentication-Results: {BORDER}; dmarc=pass header.from=camden.gov.uk\r\n".encode() + bytes(mail)


COVERING = "Hello,\n\nPlease find attached our completed expression of interest.\n\nKind regards\nJane\n"
LINES = "".join(f"{label}: {value}\n" for label, value in FORM)


def quiet(sender: str, n: int) -> bytes:
    shapes = [
        [("EOI.docx", DOCX, word_form(FORM))],
        [("EOI.xlsx", XLSX, excel_form(FORM))],
        [("EOI.pdf", "application/pdf", pdf([f"{label}: {value}" for label, value in FORM]))],
        [],
    ]
    attached = shapes[n % len(shapes)]
    return _message(sender, attached, COVERING if attached else LINES)


HOSTILE = [("Form.pdf", "application/pdf", slow_pdf(pages=30)), ("Form.docx", DOCX, word_bomb()),
           ("Form.xlsx", XLSX, huge_sheet()), ("Notes.docx", DOCX, many_lines())]


def hostile(sender: str, n: int) -> bytes:
    return _message(sender, HOSTILE, COVERING)


async def phase(service: Service, relay: Relay, make: Callable[[str, int], bytes], *, seconds: float,
                interval: float, counter: itertools.count) -> dict:
    """Send one message every `interval` for `seconds`, probing from the first until all
    are answered."""
    probe = Probe(service.smtp, service.http)
    probing = asyncio.ensure_future(asyncio.to_thread(probe.run))
    started = time.monotonic()
    senders, codes = [], []
    while time.monotonic() - started < seconds:
        n = next(counter)
        sender = f"officer{n}@camden.gov.uk"
        senders.append(sender)
        codes.append(await send(service.smtp, make(sender, n), sender))
        await asyncio.sleep(max(0.0, started + len(senders) * interval - time.monotonic()))
    while not all(s in relay.replies for s in senders) and time.monotonic() - started < seconds + 600:
        await asyncio.sleep(0.2)
    took = time.monotonic() - started
    probe.stopped.set()
    await probing
    return {"times": probe.times, "sent": len(senders), "accepted": codes.count(250),
            "answered": sum(s in relay.replies for s in senders), "seconds": took, "unread": relay.unread(senders)}


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each phase sends (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="quiet and hostile phases, alternating (default 2)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between messages (default 2)")
    args = parser.parse_args()

    relay = Relay()
    relay_port = free_port()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(relay), "127.0.0.1", relay_port)
    folder = Path(tempfile.mkdtemp())
    env = service_env(f"sqlite+aiosqlite:///{folder}/cib.sqlite3", free_port(), free_port(), relay_port,
                      CIB_TEAM_EMAILS=TEAM, CIB_LOG_LEVEL="WARNING")
    service = Service(env, folder)
    await service.start()
    counter = itertools.count()
    results: dict[str, list[dict]] = {"quiet": [], "hostile": []}
    try:
        for round_ in range(args.rounds):
            for name, make in (("quiet", quiet), ("hostile", hostile)):
                result = await phase(service, relay, make, seconds=args.seconds, interval=args.interval,
                                     counter=counter)
                results[name].append(result)
                print(f"round {round_ + 1} {name}: {result['sent']} sent, {result['accepted']} accepted, "
                      f"{result['answered']} answered in {result['seconds']:.0f} s; not read: {result['unread']}",
                      file=sys.stderr, flush=True)
    finally:
        await service.stop(timeout=120)
        server.close()

    print(f"\n{sum(r['sent'] for r in results['hostile'])} hostile messages "
          f"({len(HOSTILE)} documents each: {', '.join(f'{n} {len(d) / 1024:.1f} KB' for n, _, d in HOSTILE)}) "
          f"beside {sum(r['sent'] for r in results['quiet'])} quiet ones, {args.rounds} rounds")
    unread: dict[str, int] = {}
    for result in results["hostile"]:
        for reason, count in result["unread"].items():
            unread[reason] = unread.get(reason, 0) + count
    print("hostile documents not read: " + ", ".join(f"{count} {reason}" for reason, count in unread.items()))
    print(f"answered: quiet {sum(r['answered'] for r in results['quiet'])}, "
          f"hostile {sum(r['answered'] for r in results['hostile'])}\n")
    header = ("probe", "n quiet", "quiet p50 ms", "quiet p99 ms", "quiet max ms", "n hostile", "hostile p50 ms",
              "hostile p99 ms", "hostile max ms", "p99 ratio")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for probe in PROBES:
        q = [t for r in results["quiet"] for t in r["times"][probe]]
        h = [t for r in results["hostile"] for t in r["times"][probe]]
        cells = [probe, str(len(q)), f"{_p(q, .5):.1f}", f"{_p(q, .99):.1f}", f"{max(q) * 1000:.1f}", str(len(h)),
                 f"{_p(h, .5):.1f}", f"{_p(h, .99):.1f}", f"{max(h) * 1000:.1f}", f"{_p(h, .99) / _p(q, .99):.2f}"]
        print("| " + " | ".join(cells) + " |")
    print(f"\nmedian phase length: quiet {statistics.median(r['seconds'] for r in results['quiet']):.0f} s, "
          f"hostile {statistics.median(r['seconds'] for r in results['hostile']):.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
