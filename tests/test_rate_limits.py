"""Rate limits over real SMTP: past a sender's limit a message is still kept and
processed, but draws no reply, and the team is told (in the digest); other senders are
answered."""
from __future__ import annotations

from intake.runtime.composition import create_service
from intake.jobs.digest_job import send_digest
from intake.pipeline.reply_limits import Limit, exceeded
from tests.mailer import message, send, settle


async def test_past_a_senders_limit_messages_are_processed_but_not_answered(settings_factory, clock, relay):
    runtime = create_service(settings_factory(sender_rate_limits=["2/60"]), clock=clock)
    await runtime.start(slack=False, scheduler=False)
    try:
        for n in range(3):
            code, _ = await send(runtime, message("When are the deadlines?", subject=f"Deadlines {n}"),
                                 mail_from="jane.smith@camden.gov.uk")
            assert code == 250
        code, _ = await send(runtime, message("When are the deadlines?", sender="sam.lee@hull.gov.uk"),
                             mail_from="sam.lee@hull.gov.uk")
        assert code == 250
        await settle(runtime)
        assert len(relay.to("jane.smith@camden.gov.uk")) == 2
        assert len(relay.to("sam.lee@hull.gov.uk")) == 1
        async with runtime.store.reader() as unit:
            rows = [await unit.inbound.get(i) for i in await unit.inbound.ids()]
        assert [r.status for r in rows] == ["processed"] * 4
        assert [bool(r.detail and "rate limit" in r.detail) for r in rows] == [False, False, True, False]
        # Without Slack, the team hears of it in the digest.
        report = await send_digest(runtime.jobs, now=clock(), dry_run=True, on_demand=True)
        assert "Not answered: past a rate limit (1)" in report.text
        assert f"#{rows[2].id} from jane.smith@camden.gov.uk" in report.text
    finally:
        await runtime.stop()


def test_limits_read_as_count_per_seconds():
    limits = (Limit.parse("50/60"), Limit.parse("120/300"))
    assert exceeded(limits, [49, 119]) is None
    assert exceeded(limits, [10, 120]) == limits[1]
    assert limits[1].describe() == "120 in 5 minutes"
