"""SMTP ingest: N concurrent clients on loopback sending realistic submissions.

Measures, in one run and side by side, the full CIB intake pipeline (keep the raw message
durably, answer 250, then parse, store and queue the reply), a bare aiosmtpd server that
discards every message (the stack's ceiling) and, as a peer, Postfix from Debian's package
(a temporary instance that writes each message to its queue, answers 250 and discards it:
benchmarks/postfix_peer.py). Latency is from the end of DATA to the server's reply. Each
server runs in processes of its own; the clients run in this one. `--client smtp-source`
drives every server with Postfix's own load generator instead (rates only).

    python benchmarks/smtp_ingest.py [--clients 20] [--messages 1000] [--rounds 3] [--database URL]
        [--client aiosmtplib|smtp-source] [--no-postfix]
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib

from postfix_peer import SMTP_SOURCE, available, postfix_peer

COUNCILS = [
    ("camden.gov.uk", "London Borough of Camden"),
    ("hertfordshire.gov.uk", "Herts CC"),
    ("bury.gov.uk", "Bury Metropolitan Borough Council"),
    ("hull.gov.uk", "Kingston upon Hull"),
    ("rbkc.gov.uk", "RBKC"),
    ("leeds.gov.uk", "Leeds City Council"),
]


def submission(n: int, to: str = "eoi@localhost") -> bytes:
    domain, council = COUNCILS[n % len(COUNCILS)]
    mail = EmailMessage()
    mail["From"] = f"Officer {n} <officer{n}@{domain}>"
    mail["To"] = to
    mail["Subject"] = "EOI - Payment by Results pathfinder"
    mail["Message-ID"] = make_msgid(domain=domain)
    mail.set_content(
        "Dear CIB team,\n\nPlease accept our expression of interest.\n\n"
        f"Council: {council}\nContact name: Officer {n}\nContact role: Head of Early Help\n"
        f"Number of children's centres: {n % 40}\n\nKind regards\nOfficer {n}\n"
    )
    return bytes(mail)


# --- servers (each in a child process) ---------------------------------------------------


class _Sink:
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        return "250 OK"


async def _bare(port_out: mp.Queue, stop: mp.Event) -> None:
    from aiosmtpd.smtp import SMTP

    server = await asyncio.get_running_loop().create_server(lambda: SMTP(_Sink()), "127.0.0.1", 0)
    port_out.put(server.sockets[0].getsockname()[1])
    while not stop.is_set():
        await asyncio.sleep(0.05)
    server.close()


async def _full(port_out: mp.Queue, stop: mp.Event, database: str | None, done_out: mp.Queue) -> None:
    from intake.runtime.composition import create_service
    from intake.runtime.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="cib-bench-"))
    settings = Settings(
        database_url=database or f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}",
        smtp_port=0,
        outbox_dir=tmp / "outbox",
        intake_addresses=["eoi@localhost"],
        scheduler_enabled=False,
    )
    runtime = create_service(settings)
    await runtime.start(slack=False, scheduler=False, http=False)
    port_out.put(runtime.smtp_port)
    while not stop.is_set():
        await asyncio.sleep(0.05)
    started = time.perf_counter()
    await runtime.queue.drain()
    async with runtime.store.reader() as unit:
        processed = len(await unit.inbound.ids(status="processed"))
        submissions = len(await unit.submissions.all())
    done_out.put((processed, submissions, time.perf_counter() - started))
    await runtime.stop()


def _serve(kind: str, port_out: mp.Queue, stop: mp.Event, database: str | None, done_out: mp.Queue) -> None:
    if kind == "bare":
        asyncio.run(_bare(port_out, stop))
    else:
        asyncio.run(_full(port_out, stop, database, done_out))


# --- clients -----------------------------------------------------------------------------


async def _client(port: int, payloads: list[bytes], latencies: list[float], errors: list[str]) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
    await client.connect()
    for raw in payloads:
        try:
            await client.mail("officer@camden.gov.uk")
            await client.rcpt("eoi@localhost")
            # DATA's body goes out in one write; the wait is for the server's verdict.
            started = time.perf_counter()
            await client.data(raw)
            latencies.append(time.perf_counter() - started)
        except aiosmtplib.SMTPException as error:
            errors.append(str(error))
    await client.quit()


async def _load(port: int, clients: int, messages: int) -> tuple[list[float], list[str], float]:
    payloads = [submission(n) for n in range(messages)]
    shares = [payloads[i::clients] for i in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, share, latencies, errors) for share in shares))
    return latencies, errors, time.perf_counter() - started


@dataclass
class Burst:
    latencies: list[float]
    errors: int
    elapsed: float
    # Full pipeline only: messages processed and submissions stored once its queue had
    # drained, and how long after the last 250 that took.
    processed: int = 0
    submissions: int = 0
    drain: float = 0.0
    sent: int = 0  # accepted by the server (smtp-source times no single message)


def _smtp_source(port: int, clients: int, messages: int) -> tuple[list[float], list[str], float]:
    """Postfix's load generator: `messages` messages of a submission's size over
    `clients` sessions at once; it times nothing itself, so only the rate is known."""
    command = [SMTP_SOURCE, "-s", str(clients), "-m", str(messages), "-l", str(len(submission(0))),
               "-f", "officer@camden.gov.uk", "-t", "eoi@localhost", f"127.0.0.1:{port}"]
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    return [], ([finished.stderr.strip() or "smtp-source failed"] if finished.returncode else []), elapsed


def _drive(port: int, clients: int, messages: int, client: str) -> Burst:
    if client == "smtp-source":
        latencies, errors, elapsed = _smtp_source(port, clients, messages)
    else:
        latencies, errors, elapsed = asyncio.run(_load(port, clients, messages))
    return Burst(latencies, len(errors), elapsed, sent=messages - len(errors))


def run(kind: str, clients: int, messages: int, database: str | None, client: str = "aiosmtplib") -> Burst:
    """One burst against a fresh server of this kind."""
    if kind == "postfix":
        with postfix_peer() as port:
            return _drive(port, clients, messages, client)
    ctx = mp.get_context("spawn")
    port_out, done_out, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    process = ctx.Process(target=_serve, args=(kind, port_out, stop, database, done_out))
    process.start()
    port = port_out.get(timeout=60)
    burst = _drive(port, clients, messages, client)
    stop.set()
    if kind == "full":
        burst.processed, burst.submissions, burst.drain = done_out.get(timeout=300)
    process.join(timeout=60)
    return burst


def summary(bursts: list[Burst]) -> dict[str, float]:
    latencies = sorted(x for b in bursts for x in b.latencies)
    sent = sum(b.sent for b in bursts)
    return {
        "ok": sent,
        "errors": sum(b.errors for b in bursts),
        "rate": sent / sum(b.elapsed for b in bursts),
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating bursts per server, each on a fresh one")
    parser.add_argument("--database", help="CIB_DATABASE_URL for the full pipeline (default: a fresh SQLite file)")
    parser.add_argument("--client", choices=("aiosmtplib", "smtp-source"), default="aiosmtplib")
    parser.add_argument("--no-postfix", action="store_true", help="leave the Postfix peer out")
    args = parser.parse_args()
    kinds = ["bare", "full"]
    if not args.no_postfix:
        reason = available()
        if reason:
            parser.error(f"{reason}; or run with --no-postfix")
        kinds.append("postfix")

    # Alternate the servers, so a busy moment on a shared machine hits them alike.
    bursts: dict[str, list[Burst]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            bursts[kind].append(run(kind, args.clients, args.messages, args.database, args.client))
    results = {kind: summary(bursts[kind]) for kind in kinds}
    last = bursts["full"][-1]
    print(
        f"\n{args.messages} messages from {args.clients} concurrent SMTP clients ({args.client}) on loopback, "
        f"{args.rounds} rounds per server\n"
    )
    print("| server | accepted | errors | messages/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    labels = {"bare": "bare aiosmtpd sink", "full": "CIB intake (full pipeline)", "postfix": "Postfix (queue, discard)"}
    for kind in kinds:
        r = results[kind]
        print(f"| {labels[kind]} | {r['ok']} | {r['errors']} | {r['rate']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} |")
    full = results["full"]["rate"]
    peer = f", {full / results['postfix']['rate']:.2f}x Postfix's" if "postfix" in results else ""
    print(
        f"\nFull pipeline: {full / results['bare']['rate']:.2f}x the bare server's throughput{peer}; "
        f"in the last round {last.processed} processed, {last.submissions} submissions stored; "
        f"{last.drain:.1f} s after the last 250 to finish processing."
    )


if __name__ == "__main__":
    main()
