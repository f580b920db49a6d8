"""/healthz and /metrics on the service's HTTP port, asked as a monitor asks them, while
mail arrives over real SMTP."""
from __future__ import annotations

from datetime import timedelta

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from intake.runtime.composition import create_service
from intake.jobs import send_digest
from intake.messages import Inbound
from tests.mailer import message, send, settle


async def _get(runtime, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{runtime.http_port}{path}") as response:
            return response.status, response.headers.get("Content-Type", ""), await response.text()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


EOI = """
Council: Bury Metropolitan Borough Council
Contact name: Ali Khan
Contact role: Service Manager
Number of children's centres: 7
"""


async def test_healthz_reports_the_database_and_the_queues(runtime):
    status, kind, body = await _get(runtime, "/healthz")
    assert status == 200 and kind.startswith("application/json")
    import json

    report = json.loads(body)
    assert report["ok"] is True and report["database"] == {"ok": True}
    assert report["queue"]["inbound_unprocessed"] == 0 and report["queue"]["outbound_unsent"] == 0
    assert report["scheduler"] is None  # this instance runs no scheduler


async def test_healthz_is_503_when_a_kept_message_is_stuck(runtime, clock):
    # Kept but never handed to the processing queue: as after a fault nothing recovered yet.
    await runtime.service.keep(Inbound(channel="email", raw=b"Subject: stuck\r\n\r\nhello", sender="a@b.test",
                                       external_id="<stuck@b.test>", subject="stuck"))
    assert (await _get(runtime, "/healthz"))[0] == 200
    clock.now += timedelta(minutes=11)
    status, _, body = await _get(runtime, "/healthz")
    assert status == 503
    assert "still waiting to be processed" in body and '"inbound_unprocessed": 1' in body


async def test_metrics_count_messages_replies_digests_and_latency(runtime, relay, clock):
    await send(runtime, message(EOI, sender="ali.khan@bury.gov.uk", subject="PbR pathfinder"),
               mail_from="ali.khan@bury.gov.uk")
    await send(runtime, message("Could someone call me about the programme?", subject="Call"))
    await settle(runtime)
    await send_digest(runtime.jobs, now=clock(), on_demand=True)
    await runtime.delivery.flush()

    status, kind, body = await _get(runtime, "/metrics")
    assert status == 200 and kind.startswith("text/plain")
    samples = _samples(body)
    assert samples[("cib_messages_received_total", (("channel", "email"), ("kind", "submission")))] == 1
    assert samples[("cib_messages_received_total", (("channel", "email"), ("kind", "enquiry")))] == 1
    assert samples[("cib_replies_sent_total", (("channel", "email"),))] == 2
    assert samples[("cib_scheduled_sent_total", (("channel", "email"), ("kind", "digest")))] == 1
    assert samples[("cib_processing_seconds_count", ())] == 2
    assert samples[("cib_queue_depth", (("queue", "outbound_unsent"),))] == 0


async def test_a_database_that_goes_away_makes_healthz_503(postgres_url, settings_factory, clock):
    import asyncpg
    from sqlalchemy.engine import make_url

    runtime = create_service(settings_factory(database_url=postgres_url), clock=clock)
    await runtime.start(slack=False, scheduler=False)
    try:
        assert (await _get(runtime, "/healthz"))[0] == 200
        # The database is dropped under the running service (as a server that is gone).
        await runtime.store.engine.dispose()
        name = postgres_url.rsplit("/", 1)[1]
        server = make_url(postgres_url).set(drivername="postgresql", database="postgres")
        connection = await asyncpg.connect(server.render_as_string(hide_password=False))
        try:
            await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await connection.close()
        status, _, body = await _get(runtime, "/healthz")
        assert status == 503 and '"database": {"ok": false' in body
        assert (await _get(runtime, "/metrics"))[0] == 503
    finally:
        await runtime.stop()


async def test_healthz_shows_whether_this_instance_leads_the_scheduler(settings_factory, clock):
    import json

    runtime = create_service(settings_factory(scheduler_enabled=True), clock=clock)
    await runtime.start(slack=False, scheduler=True)
    try:
        status, _, body = await _get(runtime, "/healthz")
        assert status == 200
        scheduler = json.loads(body)["scheduler"]
        assert scheduler["leader"] is True and scheduler["last_run"] == clock().isoformat()
    finally:
        await runtime.stop()
