"""Team notices for every channel: an emailed submission is announced in the team's Slack
channel, recorded in the outbox with the submission it reports, and posted once."""
from __future__ import annotations

from tests.mailer import message, send, settle
from slack_support.harness import TEAM_CHANNEL, make_api, slack_settings

from intake.runtime.composition import create_service

PBR = """
    Council: London Borough of Camden
    Contact name: Jane Smith
    Contact role: Head of Early Help
    Number of children's centres: 12
"""


async def test_emailed_submission_posts_a_team_notice(settings_factory, clock):
    api = await make_api().start()
    runtime = create_service(slack_settings(settings_factory, api), clock=clock)
    await runtime.start(smtp=True, slack=True, scheduler=False)
    try:
        code, _ = await send(runtime, message(PBR, subject="EOI - Payment by Results pathfinder"))
        assert code == 250
        await settle(runtime)
        async with runtime.store.reader() as unit:
            rows = [r for r in await unit.outbound.all() if r.channel == "slack"]
        # Recorded with the submission, addressed to the team channel.
        assert [(r.kind, r.recipient) for r in rows] == [("notice", TEAM_CHANNEL)]
        [post] = await api.wait_for("chat.postMessage", 1)
        assert post["channel"] == TEAM_CHANNEL
        assert "PBR-0001" in post.all_text() and "Camden" in post.all_text()
        await runtime.delivery.flush()
        async with runtime.store.reader() as unit:
            [row] = [r for r in await unit.outbound.all() if r.channel == "slack"]
        assert row.status == "sent"
        # Replaying the message records and posts nothing more.
        await runtime.service.replay()
        await settle(runtime)
        assert len(api.calls_to("chat.postMessage")) == 1
    finally:
        await runtime.stop()
        await api.stop()
