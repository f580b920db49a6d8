"""How reminder cost grows with the council register: plan and render one reminder round
for the 153 real councils and for a synthesised register 10 and 100 times larger, record
the messages in a SQLite outbox a batch at a time (as the job does), then send to a bare aiosmtpd sink on loopback.

    python benchmarks/reminders.py [--send-limit 1000]

Sending is capped (--send-limit messages per size; the rate is what matters). Times are
measured with tracemalloc running (for the peak), which slows rendering about twofold.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.smtp import SMTP  # noqa: E402

from intake import reminders as plan  # noqa: E402
from intake.campaign.definition import load_campaign  # noqa: E402
from intake.campaign.contacts import Contact, Contacts  # noqa: E402
from intake.campaign.register import REGIONS, Council, CouncilRegister, load_councils  # noqa: E402
from intake.runtime.schema import upgrade  # noqa: E402
from intake.mail.compose import compose  # noqa: E402
from intake.mail.sender import RelayTransport  # noqa: E402
from intake.models import OutboundMessage  # noqa: E402
from intake.render import Renderer  # noqa: E402
from intake.runtime.settings import DEFAULT_CONFIG_DIR, DEFAULT_TEMPLATES_DIR  # noqa: E402
from intake.store import Store  # noqa: E402

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 5, 13, 9, 0, tzinfo=LONDON)


def register(scale: int) -> CouncilRegister:
    real = load_councils(DEFAULT_CONFIG_DIR / "councils.csv")
    if scale == 1:
        return real
    councils = [
        Council(code=f"X{i:07d}", name=f"Synthetic Council {i}", region=REGIONS[i % len(REGIONS)],
                email_domains=(f"c{i}.gov.uk",), short_names=(f"Synthetic {i}",))
        for i in range(len(real) * scale)
    ]
    return CouncilRegister(councils)


def facts_for(councils: CouncilRegister, campaign) -> plan.Facts:
    rng = random.Random(7)
    facts = plan.Facts()
    for n, council in enumerate(councils):
        if rng.random() < 0.3:  # three in ten have answered one offer
            offer = rng.choice(campaign.offers).key
            facts.submissions.append(plan.SubmissionFact(council.code, offer, f"X-{n}", "active", NOW))
            facts.senders.setdefault(council.code, []).append(f"officer@{council.email_domains[0]}")
    return facts


class Sink:
    count = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.count += 1
        return "250 OK"


async def run(scale: int, send_limit: int, renderer: Renderer, campaign, port: int, sink: Sink) -> dict:
    councils = register(scale)
    contacts = Contacts(by_council={c.code: (Contact(f"dcs@{c.email_domains[0]}"),) for c in councils})
    facts = facts_for(councils, campaign)
    [slot] = [s for s in plan.due_slots(campaign, NOW)]
    tracemalloc.start()
    started = time.perf_counter()
    pending = plan.outstanding(campaign, councils, slot, facts.submissions, facts.nominations)
    reminders, _ = plan.address(slot, pending, councils=councils, contacts=contacts, senders=facts.senders, nominations=[])
    planned = time.perf_counter()
    received = facts.received_by()
    targets = {key: plan.target_view(campaign, councils, key, NOW) for key in slot.targets}
    # As the reminder job does: render a batch, record it, go on; bodies are not all held.
    tmp = tempfile.TemporaryDirectory()
    store = Store.from_url(f"sqlite+aiosqlite:///{tmp.name}/bench.sqlite3")
    await upgrade(store)
    render_s = record_s = 0.0
    batch: list[OutboundMessage] = []
    sample: list[tuple[bytes, str]] = []

    async def flush() -> float:
        began = time.perf_counter()
        async with store.unit() as unit:
            for row in batch:
                await unit.outbound.record(row)
        batch.clear()
        return time.perf_counter() - began

    for reminder in reminders:
        began = time.perf_counter()
        context = plan.reminder_context(reminder, pending, facts, campaign=campaign, councils=councils, now=NOW,
                                        intake_address="eoi@cib.test", received=received, targets=targets)
        subject = " ".join(renderer.render("email/reminder.subject.txt.j2", context).split())
        message = compose(to=reminder.recipient, subject=subject, text=renderer.render("email/reminder.txt.j2", context),
                          html=renderer.render("email/reminder.html.j2", context), from_address="CIB intake <eoi@cib.test>",
                          now=NOW, auto_submitted="auto-generated")
        body = bytes(message)
        render_s += time.perf_counter() - began
        batch.append(OutboundMessage(send_key=reminder.send_key, kind="reminder", channel="email", recipient=reminder.recipient,
                                     subject=subject, body=body, created_at=NOW, status="pending"))
        if len(sample) < send_limit:
            sample.append((body, reminder.recipient))
        if len(batch) >= 200:
            record_s += await flush()
    record_s += await flush()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await store.close()
    tmp.cleanup()
    messages = len(reminders)

    transport = RelayTransport("127.0.0.1", port)
    before = sink.count
    began = time.perf_counter()
    for body, recipient in sample:
        await transport.send(body, sender="eoi@cib.test", recipients=[recipient])
    sent = time.perf_counter() - began
    assert sink.count - before == len(sample)
    return {
        "councils": len(councils),
        "messages": messages,
        "plan_s": planned - started,
        "render_s": render_s,
        "render_per_s": messages / max(render_s, 1e-9),
        "peak_mb": peak / 1e6,
        "record_s": record_s,
        "record_per_s": messages / max(record_s, 1e-9),
        "sent": len(sample),
        "send_per_s": len(sample) / max(sent, 1e-9),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--send-limit", type=int, default=1000)
    parser.add_argument("--scales", default="1,10,100")
    args = parser.parse_args()
    campaign = load_campaign(DEFAULT_CONFIG_DIR / "campaign.toml")
    renderer = Renderer(DEFAULT_TEMPLATES_DIR)
    sink = Sink()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(sink), host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    header = f"{'councils':>9} {'messages':>9} {'plan s':>8} {'render s':>9} {'render/s':>9} {'peak MB':>8} {'record s':>9} {'record/s':>9} {'sent':>6} {'send/s':>7}"
    print(header)
    print("-" * len(header))
    for scale in [int(s) for s in args.scales.split(",")]:
        r = await run(scale, args.send_limit, renderer, campaign, port, sink)
        print(f"{r['councils']:>9} {r['messages']:>9} {r['plan_s']:>8.3f} {r['render_s']:>9.2f} {r['render_per_s']:>9.0f} "
              f"{r['peak_mb']:>8.1f} {r['record_s']:>9.2f} {r['record_per_s']:>9.0f} {r['sent']:>6} {r['send_per_s']:>7.0f}")
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
