"""The CIB team's digest: its content after a few days of real messages, the Slack Block
Kit version (user text escaped), once a day, and `cib digest --dry-run --html`."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.slash import digest_for_slack
from intake.reports.digest import due_digest
from intake.jobs.digest_job import build_digest
from intake.jobs import send_digest
from tests.campaign_seed import flush, nominate, receive, submit

LONDON = ZoneInfo("Europe/London")


async def seed(runtime, clock):
    clock.set(datetime(2027, 5, 19, 11, 0, tzinfo=LONDON))
    await submit(runtime, "pbr-pathfinder", "Camden", sender="jane.smith@camden.gov.uk")
    await submit(runtime, "pbr-pathfinder", "Luton", sender="someone@gmail.com")  # unverified
    await nominate(runtime, "London", {"Lead member": "Cllr Ann Jones, Camden, ann.jones@camden.gov.uk"},
                   sender="ann.jones@camden.gov.uk")
    await receive(runtime, "Will there be a webinar? <!channel> please reply *soon*", sender="priya@essex.gov.uk",
                  subject="Webinar")
    clock.set(datetime(2027, 5, 28, 9, 0, tzinfo=LONDON))
    await submit(runtime, "children-centres-support", "Leeds", sender="sam@leeds.gov.uk")  # late


async def test_digest_shows_arrivals_capacity_engagement_leads_attention_and_deadlines(runtime, clock):
    await seed(runtime, clock)
    digest = await build_digest(runtime.service, datetime(2027, 5, 20, 8, 30, tzinfo=LONDON))
    c = digest.context
    assert [s["reference"] for s in c["arrived"]["submissions"]["items"]] == ["PBR-0001", "PBR-0002"]
    assert [n["name"] for n in c["arrived"]["nominations"]["items"]] == ["Cllr Ann Jones"]
    pbr = next(o for o in c["offers"] if o["key"] == "pbr-pathfinder")
    assert (pbr["count"], pbr["capacity"], pbr["unverified"]) == (2, 30, 1)
    london = next(r for r in c["regions"] if r["region"] == "London")
    assert london["engaged"] == 1 and london["total"] == 33 and "Camden" not in london["not_engaged"]
    assert c["engaged"] == 3  # Camden, Luton (named, though unverified) and Essex (wrote)
    assert c["leads_named"] == 1 and c["leads_total"] == 27
    assert [u["reference"] for u in c["attention"]["unverified"]["items"]] == ["PBR-0002"]
    assert c["attention"]["enquiries"]["count"] == 1
    assert [t["key"] for t in c["deadlines"]][:2] == ["children-centres-support", "pbr-pathfinder"]
    # The late one on 28 May is not in a digest as of 20 May ...
    assert c["attention"]["late"]["count"] == 0
    # ... and is, in the one on 29 May.
    later = await build_digest(runtime.service, datetime(2027, 5, 29, 8, 30, tzinfo=LONDON))
    assert [l["reference"] for l in later.context["attention"]["late"]["items"]] == ["CCS-0001"]
    assert [t["key"] for t in later.context["deadlines"]] == ["regional-leads", "early-adopter"]
    await flush(runtime)


async def test_slack_digest_is_block_kit_with_user_text_escaped(runtime, clock):
    await seed(runtime, clock)
    message = await digest_for_slack(runtime.service, datetime(2027, 5, 20, 8, 30, tzinfo=LONDON))
    assert message["text"].startswith("CIB intake digest")
    assert message["blocks"][0]["type"] == "header" and len(message["blocks"]) <= 50
    everything = json.dumps(message)
    assert "<!channel>" not in everything and "&lt;!channel&gt;" in everything
    assert "2 of 30" in everything
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in message["blocks"])
    await flush(runtime)


async def test_digest_is_sent_once_a_day_in_html_and_text(runtime, clock, relay):
    await seed(runtime, clock)
    morning = datetime(2027, 5, 20, 8, 30, tzinfo=LONDON)
    assert due_digest(runtime.campaign, morning.replace(hour=8, minute=29)) is None  # yesterday's is 24h old
    first = await send_digest(runtime.jobs, now=morning)
    again = await send_digest(runtime.jobs, now=morning.replace(hour=9))
    assert first.recorded == 1 and again.recorded == 0
    await flush(runtime)
    [mail] = relay.to("team@local.gov.uk")
    html = mail.get_body(("html",)).get_content()
    assert "<script" not in html and "http" not in html.split("<body", 1)[1]  # no scripts, no external images
    assert "PBR-0001" in html and "&lt;!channel&gt;" in html
    assert "REGIONAL LEADS: 1 of 27 named" in mail.get_body(("plain",)).get_content()
    # Nothing is due 13 hours after 08:30 (grace 12 hours).
    late = await send_digest(runtime.jobs, now=morning.replace(hour=21, minute=31))
    assert late.due == [] and late.html
    await flush(runtime)


async def test_a_digest_on_demand_is_sent_whatever_the_schedule(runtime, clock, relay):
    await seed(runtime, clock)
    evening = datetime(2027, 5, 20, 22, 0, tzinfo=LONDON)  # no scheduled digest is due
    assert (await send_digest(runtime.jobs, now=evening)).recorded == 0
    asked = await send_digest(runtime.jobs, now=evening, on_demand=True)
    assert asked.recorded == 1 and asked.due == [evening.isoformat()]
    # Each request is its own send; the day's scheduled digest is not taken by it.
    assert (await send_digest(runtime.jobs, now=evening.replace(minute=5), on_demand=True)).recorded == 1
    assert (await send_digest(runtime.jobs, now=datetime(2027, 5, 21, 8, 30, tzinfo=LONDON))).recorded == 1
    await flush(runtime)
    assert len(relay.to("team@local.gov.uk")) == 3


def test_cib_digest_dry_run_writes_html_and_sends_nothing(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from intake.cli import app

    monkeypatch.setenv("CIB_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cib.sqlite3")
    monkeypatch.setenv("CIB_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("CIB_TEAM_EMAILS", "team@local.gov.uk")
    target = tmp_path / "digest.html"
    # A dry run only reads: with no database it says so and makes none.
    result = CliRunner().invoke(app, ["digest", "--as-of", "2027-05-20T08:45", "--dry-run"])
    assert result.exit_code != 0 and not (tmp_path / "cib.sqlite3").exists()
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    result = CliRunner().invoke(app, ["digest", "--as-of", "2027-05-20T08:45", "--dry-run", "--html", str(target)])
    assert result.exit_code == 0, result.output
    assert "would send" in result.output and "team@local.gov.uk" in result.output
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert not (tmp_path / "outbox").exists()
    result = CliRunner().invoke(app, ["digest", "--as-of", "2027-05-20T22:00", "--dry-run"])
    assert result.exit_code == 0 and "No digest is due" in result.output
    result = CliRunner().invoke(app, ["digest", "--as-of", "2027-05-20T22:00", "--now", "--dry-run"])
    assert result.exit_code == 0 and "would send" in result.output
    assert not (tmp_path / "outbox").exists()
    result = CliRunner().invoke(app, ["remind", "--as-of", "2027-05-13T09:00", "--dry-run"])
    assert result.exit_code == 0 and "would send" in result.output
    result = CliRunner().invoke(app, ["schedule", "--as-of", "2027-05-01"])
    assert result.exit_code == 0 and "13 May 2027" in result.output


async def test_a_reply_the_relay_refused_needs_a_person_in_the_digest(runtime, clock, relay):
    clock.set(datetime(2027, 5, 19, 11, 0, tzinfo=LONDON))
    relay.refuse_next = 1  # the acknowledgement is refused for good (550): not tried again
    await submit(runtime, "pbr-pathfinder", "Camden", sender="jane.smith@camden.gov.uk")
    await runtime.delivery.flush()  # the one attempt, whichever worker makes it
    clock.now += timedelta(hours=2)  # past the longest backoff: still nothing is tried again
    await runtime.delivery.flush()
    assert relay.refuse_next == 0 and relay.to("jane.smith@camden.gov.uk") == []
    async with runtime.store.reader() as unit:
        [ack] = await unit.outbound.failed()
    assert ack.attempts == 1
    morning = datetime(2027, 5, 20, 8, 30, tzinfo=LONDON)
    digest = await build_digest(runtime.service, morning)
    [failed] = digest.context["attention"]["undelivered"]["items"]
    assert failed["recipient"] == "jane.smith@camden.gov.uk" and "550" in failed["error"]
    assert digest.context["needs_person"] == 1
    assert (await send_digest(runtime.jobs, now=morning)).recorded == 1
    await runtime.delivery.flush()
    [mail] = relay.to("team@local.gov.uk")
    text = mail.get_body(("plain",)).get_content()
    assert "Not delivered: our mail or posts that did not reach their recipient (1):" in text
    assert "to jane.smith@camden.gov.uk" in text
    assert "Not delivered (1)" in mail.get_body(("html",)).get_content()
    slack = json.dumps(await digest_for_slack(runtime.service, morning))
    assert "Not delivered, every attempt failed" in slack and "jane.smith@camden.gov.uk" in slack
