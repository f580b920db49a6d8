"""Reminders and the digest in Slack: posted through a local stand-in for the Slack Web
API, a 429 survived, one post a second per channel, nothing posted twice."""
from __future__ import annotations

import json
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from intake.runtime.composition import create_service
from intake.jobs import send_digest, send_due_reminders
from tests.campaign_seed import flush

LONDON = ZoneInfo("Europe/London")


async def test_posts_survive_a_429_and_are_paced_per_channel(settings_factory, clock, tmp_path):
    calls: list[tuple[float, dict]] = []
    limited = {"left": 1}

    async def post_message(request: web.Request) -> web.Response:
        form = dict(await request.post()) if request.content_type != "application/json" else await request.json()
        if limited["left"]:
            limited["left"] -= 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        calls.append((time.monotonic(), form))
        return web.json_response({"ok": True, "channel": form.get("channel"), "ts": str(len(calls))})

    app = web.Application()
    app.router.add_post("/api/chat.postMessage", post_message)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("council,region,name,role,email,slack_channel\n,London,,,,C0LONDON\n")
    settings = settings_factory(
        contacts_file=contacts, SLACK_BOT_TOKEN="xoxb-test", slack_api_url=f"http://127.0.0.1:{port}/api/",
        team_slack_channel="C0TEAM",
    )
    runtime = create_service(settings, clock=clock)
    await runtime.start(smtp=False, slack=False, scheduler=False)
    try:
        digest = await send_digest(runtime.jobs, now=datetime(2027, 5, 13, 8, 30, tzinfo=LONDON))
        reminders = await send_due_reminders(runtime.jobs, now=datetime(2027, 5, 13, 9, 0, tzinfo=LONDON))
        assert {(p.channel, p.recipient) for p in reminders.planned} == {("slack", "C0LONDON"), ("slack", "C0TEAM")}
        poster = runtime.slack_poster
        await poster.deliver_due()
        assert await poster.deliver_due() == 0  # nothing left, nothing twice
        channels = [form["channel"] for _, form in calls]
        assert sorted(channels) == ["C0LONDON", "C0TEAM", "C0TEAM"]
        team = [t for t, form in calls if form["channel"] == "C0TEAM"]
        assert team[1] - team[0] >= 0.95  # about one a second per channel
        london = next(form for _, form in calls if form["channel"] == "C0LONDON")
        blocks = json.loads(london["blocks"]) if isinstance(london["blocks"], str) else london["blocks"]
        text = json.dumps(blocks)
        assert "Camden" in text and "Regional leads" not in text  # 13 May: PbR and CCS only
        async with runtime.store.reader() as unit:
            rows = [r for r in await unit.outbound.all() if r.channel == "slack"]
        assert [r.status for r in rows] == ["sent"] * 3
        assert digest.recorded == 2  # the team's email and the team channel
        await flush(runtime)
    finally:
        await runtime.stop()
        await runner.cleanup()
