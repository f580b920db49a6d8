"""The soak's load: what councils send (submissions, questions, nominations, malformed
mail, a ~10 MB message now and then), what the team opens in the workspace, the blocking
clients that send and open them from a pool of threads, each timed, and the relay the
service's replies go to."""
from __future__ import annotations

import csv
import http.client
import itertools
import os
import re
import smtplib
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from email.utils import make_msgid

from support import BORDER, INTAKE, ROOT, TEAM

OFFERS = [("PbR pathfinder", "Number of children's centres: 9"),
          ("Early adopter", "Areas for peer challenge: Early help and the front door"),
          ("Children's centres support", "Support needed: Reviewing sufficiency of centres in rural areas")]
QUESTIONS = ["When is the deadline for the PbR pathfinder?", "Do family hubs count as children's centres?",
             "Can two councils apply together for the early adopter offer?", "help"]
ROLES = ("Lead member", "Lead chief executive", "Lead DCS")
# The shape of the load, repeated: for every 12 things done, 7 messages and 5 pages.
CYCLE = ("submission", "overview", "submission", "question", "entries", "nomination", "needs",
         "submission", "malformed", "entry", "submission", "decisions.csv")
PAGES = {"overview": "/team/", "needs": "/team/needs", "entries": "/team/entries",
         "decisions.csv": "/team/decisions.csv"}
MAIL_KINDS = ("submission", "question", "nomination", "malformed")
REFERENCE = re.compile(r"/team/entries/([A-Z]+-\d+)")


@dataclass(frozen=True)
class Council:
    name: str
    region: str
    domain: str


def councils() -> list[Council]:
    with (ROOT / "config" / "councils.csv").open() as f:
        rows = list(csv.DictReader(f))
    return [Council(r["name"], r["region"], r["email_domains"].split("|")[0]) for r in rows]


def _mail(sender: str, subject: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, INTAKE, subject
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    mail.set_content(body)
    return mail


def _stamped(sender: str, mail: EmailMessage | bytes) -> bytes:
    domain = sender.rpartition("@")[2]
    return f"Authentication-Results: {BORDER}; dmarc=pass header.from={domain}\r\n".encode() + bytes(mail)


def submission(n: int, council: Council) -> tuple[str, bytes]:
    title, extra = OFFERS[n % len(OFFERS)]
    sender = f"officer{n}@{council.domain}"
    body = (f"Dear CIB team,\n\nPlease accept our expression of interest.\n\nOffer: {title}\n"
            f"Council: {council.name}\nContact name: Officer {n}\nContact role: Head of Early Help\n{extra}\n\n"
            f"Kind regards\nOfficer {n}\n")
    return sender, _stamped(sender, _mail(sender, f"Expression of interest: {title}", body))


def question(n: int, council: Council) -> tuple[str, bytes]:
    sender = f"enquiries{n}@{council.domain}"
    asked = QUESTIONS[n % len(QUESTIONS)]
    return sender, _stamped(sender, _mail(sender, asked if asked == "help" else "A question", f"Hello,\n\n{asked}\n"))


def nomination(n: int, council: Council) -> tuple[str, bytes]:
    sender = f"lead{n}@{council.domain}"
    people = "\n".join(f"{role}: Person {n}-{k}, {council.name}, person{n}.{k}@{council.domain}"
                       for k, role in enumerate(ROLES))
    body = f"Region: {council.region}\n{people}\n"
    return sender, _stamped(sender, _mail(sender, f"Regional leads for {council.region}", body))


MALFORMED = (
    b"From: <<<broken@@\r\nSubject: =?utf-8?b?not base64!?=\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n",
    b"Subject: no sender\r\nContent-Type: text/plain; charset=x-unknown-8bit\r\n\r\n\xff\xfe\x00 Council: ?\r\n",
    b"From: a@camden.gov.uk\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\n"
    b"Content-Transfer-Encoding: base64\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\r\n%%%not base64%%%\r\n",
    b"\r\n\r\n" + b"A" * 5000 + b"\r\n",
)


def malformed(n: int, council: Council) -> tuple[str, bytes]:
    raw = MALFORMED[n % len(MALFORMED)] + f"\r\nMessage {n}\r\n".encode()
    return f"odd{n}@{council.domain}", raw


def big(n: int, council: Council, size: int) -> tuple[str, bytes]:
    """A submission of about `size` bytes: the form in the body, a long covering note, and
    a large attachment (random bytes, base64, as a scanned annex would be)."""
    sender = f"big{n}@{council.domain}"
    mail = _mail(sender, "Expression of interest with annexes",
                 f"Offer: PbR pathfinder\nCouncil: {council.name}\nContact name: Officer {n}\n"
                 f"Contact role: Head of Early Help\nNumber of children's centres: 9\n\n"
                 + "Our centres serve families across the borough. " * (size // 10 // 48))
    mail.add_attachment(os.urandom(size * 6 // 10), maintype="application", subtype="pdf", filename="Annex.pdf")
    return sender, _stamped(sender, mail)


MAKERS = {"submission": submission, "question": question, "nomination": nomination, "malformed": malformed}


def _data(raw: bytes) -> bytes:
    """`raw` as it goes after DATA: CRLF lines, leading dots doubled, the final dot."""
    lines = re.sub(rb"\r?\n", b"\r\n", raw)
    quoted = re.sub(rb"(?m)^\.", b"..", lines)
    return quoted + (b"" if quoted.endswith(b"\r\n") else b"\r\n") + b".\r\n"


def send_timed(port: int, sender: str, raw: bytes) -> tuple[int, float]:
    """Send one message on a connection of its own; (the DATA reply's code, seconds from
    the end of the message to that reply)."""
    payload = _data(raw)
    with smtplib.SMTP("127.0.0.1", port, timeout=300) as client:
        client.ehlo("load.example")
        client.mail(sender)
        client.rcpt(INTAKE)
        code, _ = client.docmd("DATA")
        if code != 354:
            return code, 0.0
        client.send(payload)
        ended = time.perf_counter()
        code, _ = client.getreply()
        return code, time.perf_counter() - ended


def get_timed(port: int, path: str, cookie: str) -> tuple[int, float, bytes]:
    """GET `path` on a connection of its own, signed in; (status, seconds, body)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        body = response.read()
        return response.status, time.perf_counter() - started, body
    finally:
        connection.close()


@dataclass
class Sample:
    at: float  # monotonic, when it began
    kind: str
    code: int
    seconds: float


@dataclass
class Load:
    """One soak's load: runs each kind when told, and keeps what it measured."""

    smtp: int
    http: int
    cookie: str
    places: list[Council]
    samples: list[Sample] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    counter: itertools.count = field(default_factory=itertools.count)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, kind: str) -> None:
        n = next(self.counter)
        at = time.monotonic()
        try:
            code, seconds = self._mail(kind, n) if kind in MAIL_KINDS else self._page(kind, n)
        except (OSError, smtplib.SMTPException, http.client.HTTPException):
            code, seconds = 0, time.monotonic() - at
        with self.lock:
            self.samples.append(Sample(at, kind, code, seconds))

    def _mail(self, kind: str, n: int) -> tuple[int, float]:
        sender, raw = MAKERS[kind](n, self.places[n % len(self.places)])
        return send_timed(self.smtp, sender, raw)

    def _page(self, kind: str, n: int) -> tuple[int, float]:
        if kind == "entry":
            if not self.references:
                return 0, 0.0
            path = f"/team/entries/{self.references[n % len(self.references)]}"
        else:
            path = PAGES[kind]
        status, seconds, body = get_timed(self.http, path, self.cookie)
        if kind == "entries":
            found = sorted(set(REFERENCE.findall(body.decode("utf-8", "replace"))))
            if found:
                self.references = found
        return status, seconds


class Replies:
    """The relay's handler: when each address was first answered, and the mail to the
    team (the sign-in link) in full."""

    def __init__(self) -> None:
        self.answered: dict[str, float] = {}
        self.team: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 - aiosmtpd's
        now = time.monotonic()
        for address in envelope.rcpt_tos:
            self.answered.setdefault(address.lower(), now)
            if address.lower() == TEAM:
                raw = envelope.original_content or envelope.content
                self.team.append(BytesParser(policy=default).parsebytes(raw))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return self.team if address.lower() == TEAM else []
