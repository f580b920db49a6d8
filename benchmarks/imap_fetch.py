"""Mailbox fetch: N messages waiting in a real Dovecot (tests/dovecot.py), emptied by
`cib serve` as its own process (keep each durably, move it to the done mailbox, then parse,
store and write the reply), beside a bare imaplib loop that fetches and moves each message
and keeps nothing. The service's time runs from its start until every message is moved;
the time to its banner (start-up and migrations on a fresh database) is shown apart.

    python benchmarks/imap_fetch.py [--messages 1000] [--rounds 1] [--database URL]
"""
from __future__ import annotations

import argparse
import imaplib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from tests.dovecot import PASSWORD, USER, Dovecot, free_port, running_dovecot  # noqa: E402
from tests.mailer import stamp  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from smtp_ingest import submission as ingest_submission  # noqa: E402

DONE = "Processed"


def submission(n: int) -> bytes:
    """benchmarks/smtp_ingest.py's submission, as a border server that checked the sender
    passes it on."""
    return stamp(ingest_submission(n, to="eoi@cib.test"))


def fill(server: Dovecot, count: int) -> None:
    connection = server.client()
    try:
        for n in range(count):
            status, data = connection.append("INBOX", None, None, submission(n))
            assert status == "OK", data
    finally:
        connection.logout()


def moved(server: Dovecot, mailbox: str) -> int:
    connection = server.client()
    try:
        _, data = connection.status(f'"{mailbox}"', "(MESSAGES)")
        text = data[0].decode() if data and isinstance(data[0], bytes) else ""
        return int(text.rsplit("MESSAGES", 1)[1].strip(" )")) if "MESSAGES" in text else 0
    finally:
        connection.logout()


def bare_loop(server: Dovecot, mailbox: str) -> int:
    """Fetch each message whole and move it, as the service does, keeping nothing."""
    connection = imaplib.IMAP4("127.0.0.1", server.port, timeout=30)
    connection.login(USER, PASSWORD)
    connection.create(f'"{mailbox}"')
    connection.select("INBOX")
    _, data = connection.uid("SEARCH", "UNDELETED")
    uids = data[0].split() if data and data[0] else []
    for uid in uids:
        _, fetched = connection.uid("FETCH", uid, "(BODY.PEEK[])")
        assert fetched and isinstance(fetched[0], tuple)
        status, _ = connection.uid("MOVE", uid, f'"{mailbox}"')
        assert status == "OK"
    connection.logout()
    return len(uids)


@dataclass
class Served:
    banner: float  # seconds from start to the banner
    total: float  # seconds from start until every message was moved


def serve_until_empty(server: Dovecot, count: int, database: str | None) -> Served:
    folder = Path(tempfile.mkdtemp(prefix="cib-imap-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    env.update({
        "CIB_DATABASE_URL": database or f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}",
        "CIB_IMAP_URL": server.url, "CIB_IMAP_PASSWORD": PASSWORD, "CIB_SMTP_PORT": str(free_port()),
        "CIB_HTTP_PORT": "0", "CIB_INTAKE_ADDRESSES": "eoi@cib.test", "CIB_FROM_ADDRESS": "CIB intake <eoi@cib.test>",
        "CIB_AUTHSERV_ID": "mx.cib.test", "CIB_SCHEDULER_ENABLED": "false", "CIB_OUTBOX_DIR": str(folder / "outbox"),
        "CIB_SENDER_RATE_LIMITS": "100000/60", "CIB_TOTAL_RATE_LIMITS": "100000/60",
    })
    log = folder / "serve.log"  # a file, not a pipe: a pipe nobody reads would stop the service when full
    began = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "intake", "serve", "--no-slack"], cwd=folder, env=env,
                                   stdout=output, stderr=output, start_new_session=True)
    try:
        banner = None
        while (done := moved(server, DONE)) < count:
            assert process.poll() is None, f"cib serve stopped: {log.read_text()[-2000:]}"
            if banner is None and b"CIB intake is running" in log.read_bytes():
                banner = time.monotonic() - began
            time.sleep(0.05)
        assert done == count
        return Served(banner if banner is not None else 0.0, time.monotonic() - began)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1, help="each on a fresh Dovecot and database")
    parser.add_argument("--database", help="CIB_DATABASE_URL for the service (default: a fresh SQLite file)")
    args = parser.parse_args()
    bare_times, served = [], []
    for _ in range(args.rounds):
        with running_dovecot() as server:
            fill(server, args.messages)
            began = time.monotonic()
            assert bare_loop(server, "Bare done") == args.messages
            bare_times.append(time.monotonic() - began)
            fill(server, args.messages)
            served.append(serve_until_empty(server, args.messages, args.database))
    bare = args.messages / min(bare_times)
    best = min(served, key=lambda s: s.total)
    full = args.messages / best.total
    after_banner = args.messages / (best.total - best.banner)
    print(f"\n{args.messages} messages waiting in Dovecot on loopback, best of {args.rounds} round(s)\n")
    print("| reader | seconds | messages/s |")
    print("|---|---|---|")
    print(f"| bare imaplib loop (FETCH, MOVE, nothing kept) | {min(bare_times):.2f} | {bare:.0f} |")
    print(f"| `cib serve` (start until every message moved) | {best.total:.2f} | {full:.0f} |")
    print(f"| `cib serve` after its banner ({best.banner:.1f} s to start) | {best.total - best.banner:.2f} | "
          f"{after_banner:.0f} |")
    print(f"\n`cib serve`: {full / bare:.1%} of the bare loop's rate from its start, "
          f"{after_banner / bare:.1%} once started.")


if __name__ == "__main__":
    main()
