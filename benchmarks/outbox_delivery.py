"""What the outbox's bookkeeping costs when mail goes out: the dispatcher (claim a round
on a lease, send, record each result in its own commit) against the bare relay client
sending the same messages, both to a bare aiosmtpd sink on loopback.

    python benchmarks/outbox_delivery.py [--messages 1000] [--rounds 3] [--database-url URL]

Each round records `--messages` replies in a fresh SQLite outbox (or the PostgreSQL
database given), then times the dispatcher emptying it; the bare client sends the same
bytes without any store. The two alternate, round by round.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.smtp import SMTP  # noqa: E402

from intake.runtime.schema import upgrade  # noqa: E402
from intake.mail.compose import compose  # noqa: E402
from intake.mail.sender import EmailCarrier, RelayTransport  # noqa: E402
from intake.models import OutboundMessage  # noqa: E402
from intake.outbox.dispatch import Dispatcher  # noqa: E402
from intake.store import Store  # noqa: E402

NOW = datetime(2027, 5, 13, 9, 0, tzinfo=timezone.utc)


class Sink:
    count = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.count += 1
        return "250 OK"


def messages(count: int) -> list[tuple[str, bytes]]:
    out = []
    for n in range(count):
        to = f"officer{n}@council{n % 153}.gov.uk"
        mail = compose(to=to, subject=f"Re: Expression of interest {n}", text="Thank you. We have recorded:\n" * 20,
                       html=None, from_address="CIB intake <eoi@cib.test>", now=NOW)
        out.append((to, bytes(mail)))
    return out


async def dispatcher_round(batch: list[tuple[str, bytes]], port: int, url: str | None) -> float:
    tmp = tempfile.TemporaryDirectory()
    store = Store.from_url(url or f"sqlite+aiosqlite:///{tmp.name}/outbox.sqlite3")
    await upgrade(store)
    async with store.unit() as unit:
        await unit.outbound.record_new([
            OutboundMessage(send_key=f"bench:{time.time_ns()}:{n}", kind="reply-ack", channel="email", recipient=to,
                            subject="", body=body, created_at=NOW, status="pending")
            for n, (to, body) in enumerate(batch)
        ], known=False)
    carrier = EmailCarrier(RelayTransport("127.0.0.1", port), envelope_sender="eoi@cib.test")
    dispatcher = Dispatcher(store, carrier, channel="email", clock=lambda: NOW)
    began = time.perf_counter()
    sent = 0
    while n := await dispatcher.deliver_due():
        sent += n
    elapsed = time.perf_counter() - began
    assert sent == len(batch), (sent, len(batch))
    async with store.unit() as unit:  # leave a shared PostgreSQL database as we found it
        await unit.session.execute(OutboundMessage.__table__.delete().where(OutboundMessage.kind == "reply-ack"))
    await store.close()
    tmp.cleanup()
    return elapsed


async def bare_round(batch: list[tuple[str, bytes]], port: int) -> float:
    transport = RelayTransport("127.0.0.1", port)
    began = time.perf_counter()
    for to, body in batch:
        await transport.send(body, sender="eoi@cib.test", recipients=[to])
    return time.perf_counter() - began


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sink = Sink()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(sink), host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    batch = messages(args.messages)
    times: dict[str, list[float]] = {"bare relay client (no store)": [], "outbox dispatcher": []}
    for _ in range(args.rounds):
        times["bare relay client (no store)"].append(await bare_round(batch, port))
        times["outbox dispatcher"].append(await dispatcher_round(batch, port, args.database_url))
    assert sink.count == 2 * args.rounds * args.messages
    print("| sender | messages | rounds | messages/s (median) | ms a message |")
    print("|---|---|---|---|---|")
    for name, spent in times.items():
        median = statistics.median(spent)
        print(f"| {name} | {args.messages} | {args.rounds} | {args.messages / median:.0f} | {1000 * median / args.messages:.2f} |")
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
