"""Keep first: every Slack message, `/cib` question and form the core will process is
committed to the database before Slack is acknowledged, whatever the Web API is doing; a
retry of one already kept changes nothing; one that could not be kept is not acknowledged
(events: a 5xx, so Slack sends it again) or is answered "please try again"."""
from __future__ import annotations

import asyncio
import json
import time

from slack_support.harness import CAMDEN, HULL, OTHER_BOT, slack  # noqa: F401
from slack_support.signing import command_form, dm_event, event_envelope, view_submission

from bot.bolt_app import NOT_STORED

PBR = (
    "Offer: PbR pathfinder\n"
    "Council: Camden\n"
    "Contact name: Jo Bloggs\n"
    "Contact role: Head of early help\n"
    "Number of children's centres: 12"
)


async def test_message_is_kept_before_the_ack_even_when_users_info_fails(slack):
    slack.api.latency = 1.0  # the old order (users.info, then keep) would keep nothing for a second
    slack.api.fail_next("users.info", error="fatal_error", times=5)
    envelope = event_envelope(dm_event(CAMDEN, PBR))
    started = time.monotonic()
    answer = await slack.send.event(envelope)
    assert answer.status == 200 and time.monotonic() - started < 0.5
    [row] = await slack.inbound()  # as soon as the response is in, before any background work
    event = envelope["event"]
    assert row["channel"] == "slack" and row["external_id"] == f"{event['channel']}:{event['ts']}"
    assert json.loads(row["raw"]) == envelope
    assert row["sender"] is None and row["status"] == "received"
    await slack.settle()
    [row] = await slack.inbound()
    assert row["status"] == "processed"
    assert row["sender"] is None  # users.info said nothing: an unknown sender, never a guess
    assert len(slack.dm(CAMDEN)) == 1  # still answered


async def test_message_is_kept_and_acked_with_the_web_api_down(slack):
    await slack.api.stop()
    envelope = event_envelope(dm_event(CAMDEN, "what deadlines are coming up?"))
    answer = await slack.send.event(envelope)
    assert answer.status == 200
    [row] = await slack.inbound()
    assert json.loads(row["raw"]) == envelope and row["status"] == "received"
    await slack.settle(30)
    [row] = await slack.inbound()
    assert row["status"] == "processed"
    assert slack.runner.bot.background.failures == 0  # nothing could be posted: logged, not raised
    assert slack.runner.bot.undelivered == 1


async def test_users_info_names_the_sender_after_the_ack(slack):
    await slack.send.event(event_envelope(dm_event(CAMDEN, PBR)))
    await slack.settle()
    [row] = await slack.inbound()
    assert row["sender"] == "jo.bloggs@camden.gov.uk" and row["classification"] == "submission"
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["reference"] == "PBR-0001" and submission["verified"]


async def test_a_retry_of_a_kept_event_keeps_nothing_more_and_posts_nothing_more(slack):
    envelope = event_envelope(dm_event(CAMDEN, PBR))
    assert (await slack.send.event(envelope)).status == 200
    await slack.settle()
    posted = slack.api.count("chat.postMessage")
    for attempt in (1, 2):
        assert (await slack.send.event(envelope, retry_num=attempt)).status == 200
    await slack.settle()
    assert len(await slack.inbound()) == 1
    assert slack.api.count("chat.postMessage") == posted


async def test_a_retry_while_the_first_is_still_being_answered(slack):
    slack.api.latency = 0.5
    envelope = event_envelope(dm_event(CAMDEN, "what have we sent?"))
    assert (await slack.send.event(envelope)).status == 200
    assert (await slack.send.event(envelope, retry_num=1)).status == 200
    await slack.settle()
    assert len(await slack.inbound()) == 1
    assert len(slack.dm(CAMDEN)) == 1


async def test_event_not_kept_is_not_acknowledged_so_slack_retries(slack):
    await slack.rename_inbound_table("inbound_messages", "inbound_messages_away")
    envelope = event_envelope(dm_event(CAMDEN, PBR))
    answer = await slack.send.event(envelope)
    assert not 200 <= answer.status < 300
    await slack.settle()
    assert slack.api.count("chat.postMessage") == 0 and slack.api.count("users.info") == 0

    await slack.rename_inbound_table("inbound_messages_away", "inbound_messages")
    assert (await slack.send.event(envelope, retry_num=1)).status == 200
    await slack.settle()
    [row] = await slack.inbound()
    assert row["external_id"] == f"{envelope['event']['channel']}:{envelope['event']['ts']}"
    assert row["status"] == "processed"
    [reply] = slack.dm(CAMDEN)
    assert "PBR-0001" in reply.all_text()


async def test_command_not_kept_is_answered_please_try_again(slack):
    await slack.rename_inbound_table("inbound_messages", "inbound_messages_away")
    answer = await slack.send.command(command_form(CAMDEN, "status"))
    assert answer.status == 200
    body = answer.json()
    assert "send it again" in json.dumps(body) and body.get("response_type", "ephemeral") == "ephemeral"
    await slack.settle()
    assert slack.api.count("chat.postMessage") == 0

    await slack.rename_inbound_table("inbound_messages_away", "inbound_messages")
    await slack.send.command(command_form(CAMDEN, "status"))
    await slack.settle()
    assert len(await slack.inbound()) == 1
    assert len(slack.dm(CAMDEN)) == 1


async def test_command_is_kept_before_the_ack(slack):
    slack.api.latency = 1.0
    form = command_form(CAMDEN, "deadlines")
    assert (await slack.send.command(form)).status == 200
    [row] = await slack.inbound()
    assert row["external_id"] == f"command:{form['trigger_id']}"
    assert json.loads(row["raw"])["text"] == "deadlines"
    await slack.settle()


async def _modal(slack, user: str) -> dict:
    assert (await slack.send.command(command_form(user, "eoi pbr"))).status == 200
    await slack.settle()
    [call] = slack.api.calls_to("views.open")
    slack.api.reset()
    return call.view


async def test_form_not_kept_stays_open_with_please_try_again(slack):
    view = await _modal(slack, CAMDEN)
    payload = view_submission(CAMDEN, view, {"contact_role": "Head of early help", "centres": "9"})
    await slack.rename_inbound_table("inbound_messages", "inbound_messages_away")
    answer = await slack.send.interaction(payload)
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "errors" and list(body["errors"].values()) == [NOT_STORED]
    await slack.rename_inbound_table("inbound_messages_away", "inbound_messages")

    answer = await slack.send.interaction(payload)
    assert answer.status == 200 and answer.text == ""  # kept: the modal closes
    [row] = await slack.inbound()
    assert json.loads(row["raw"]) == payload
    assert row["external_id"] == f"view:{payload['view']['id']}:{payload['view']['hash']}"
    await slack.settle()
    [dm] = slack.dm(CAMDEN)
    assert "PBR-0001" in dm["text"]


async def test_invalid_form_is_not_kept(slack):
    view = await _modal(slack, CAMDEN)
    answer = await slack.send.interaction(view_submission(CAMDEN, view, {"centres": "-3"}))
    assert answer.json()["response_action"] == "errors"
    assert await slack.inbound() == []


async def test_bots_known_from_the_payload_are_not_kept(slack):
    event = dm_event(OTHER_BOT, "what have we sent?", bot_id="B0OTHER")
    assert (await slack.send.event(event_envelope(event))).status == 200
    await slack.settle()
    assert await slack.inbound() == []


async def test_a_bot_known_only_from_users_info_is_never_answered(slack):
    assert (await slack.send.event(event_envelope(dm_event(OTHER_BOT, "what have we sent?")))).status == 200
    await slack.settle()
    [row] = await slack.inbound()
    assert row["status"] == "processed"  # kept and processed, so not left for a restart
    assert slack.api.count("chat.postMessage") == 0


async def test_a_burst_from_many_people_is_all_kept_and_answered_once_each(slack):
    envelopes = [event_envelope(dm_event(user, "what deadlines are coming up?"))
                 for user in (CAMDEN, HULL) for _ in range(10)]
    answers = await asyncio.gather(*(slack.send.event(e) for e in envelopes))
    assert {a.status for a in answers} == {200}
    assert len(await slack.inbound()) == 20
    await slack.settle(30)
    assert {r["status"] for r in await slack.inbound()} == {"processed"}
    assert len(slack.dm(CAMDEN)) == 10 and len(slack.dm(HULL)) == 10


async def test_background_work_steps_aside_while_requests_wait_for_their_ack():
    from bot.tasks import Background

    background = Background(acks_first=0.3)
    started: list[float] = []

    async def work() -> None:
        started.append(time.monotonic())

    with background.acking():
        background.spawn(work(), name="after-the-ack")
        await asyncio.sleep(0.1)
        assert started == []  # not while a request is waiting to be acknowledged
    await asyncio.sleep(0)
    assert await background.drain(1) and len(started) == 1

    # Never for longer than `acks_first`: a steady stream of requests does not starve it.
    with background.acking():
        begun = time.monotonic()
        background.spawn(work(), name="starved")
        assert await background.drain(2)
        assert 0.25 <= started[-1] - begun < 1.0


async def test_background_work_waits_while_messages_are_arriving_by_any_channel():
    from bot.tasks import Background

    arriving = True
    background = Background(acks_first=0.3, busy=lambda: arriving)
    started: list[float] = []

    async def work() -> None:
        started.append(time.monotonic())

    begun = time.monotonic()
    background.spawn(work(), name="after-a-burst")
    await asyncio.sleep(0.1)
    assert started == []  # an email burst being kept holds Slack's background work too
    arriving = False
    assert await background.drain(1)
    assert len(started) == 1 and started[0] - begun < 0.3

    arriving = True  # and never for longer than `acks_first`
    begun = time.monotonic()
    background.spawn(work(), name="starved")
    assert await background.drain(2)
    assert 0.25 <= started[-1] - begun < 1.0


async def test_background_work_waits_between_the_requests_of_a_burst():
    from bot.tasks import QUIET, Background

    background = Background(acks_first=0.5)
    started: list[float] = []

    async def work() -> None:
        started.append(time.monotonic())

    background.arrived()
    background.spawn(work(), name="mid-burst")
    for _ in range(10):  # requests still coming in, none of them waiting for its ack just now
        await asyncio.sleep(QUIET / 5)
        background.arrived()
    assert started == []
    last = time.monotonic()
    assert await background.drain(1)
    assert QUIET * 0.8 <= started[0] - last < 0.3  # once they pause


async def test_one_message_under_three_event_ids_is_one_message(slack):
    import copy

    envelope = event_envelope(dm_event(CAMDEN, PBR))
    for n in range(3):  # Slack delivered the same post three times, each with its own event_id
        again = copy.deepcopy(envelope)
        again["event_id"] = f"{envelope['event_id']}-{n}"
        assert (await slack.send.event(again)).status == 200
    await slack.settle()
    assert len(await slack.inbound()) == 1
    assert len(slack.dm(CAMDEN)) == 1
