"""The bot's HTTP endpoint as Slack sees it: signatures, acks, retries, rate limits, the
real-world payload corpus, health, start-up without Slack and shutdown."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from urllib.parse import quote

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bot.runner import NOT_CONFIGURED, start_slack
from intake.runtime.composition import create_service
from slack_support.harness import CAMDEN, make_api, slack, slack_settings  # noqa: F401
from slack_support.signing import (
    SIGNING_SECRET,
    dm_event,
    event_envelope,
    signature,
    signed_headers,
)

CORPUS = Path(__file__).parent / "corpus" / "slack"


# --- signatures ---------------------------------------------------------------------------


def test_signing_helper_matches_slacks_published_example():
    body = (CORPUS / "python-slack-sdk" / "slash__signing_known_answer_docs_sample.txt").read_text()
    assert signature(body, "1531420618", "8f742231b10e8888abcd99yyyzzz85a5") == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )
    verifier = SignatureVerifier(SIGNING_SECRET)
    ts = str(int(time.time()))
    assert verifier.is_valid(body, ts, signature(body, ts))


async def test_bad_signature_is_401_and_nothing_happens(slack):
    envelope = event_envelope(dm_event(CAMDEN, "what deadlines are coming up?"))
    answer = await slack.send.event(envelope, secret="not-the-secret")
    assert answer.status == 401
    body = json.dumps(envelope)
    unsigned = await slack.send.post_raw(body, {"Content-Type": "application/json"})
    assert unsigned.status == 401
    await slack.settle()
    assert slack.api.count("chat.postMessage") == 0


async def test_stale_signature_is_401(slack):
    envelope = event_envelope(dm_event(CAMDEN, "what deadlines are coming up?"))
    answer = await slack.send.event(envelope, timestamp=int(time.time()) - 6 * 60)
    assert answer.status == 401


async def test_body_changed_after_signing_is_401(slack):
    body = json.dumps(event_envelope(dm_event(CAMDEN, "status")))
    headers = signed_headers(body, content_type="application/json")
    answer = await slack.send.post_raw(body.replace("status", "withdraw EA-0001"), headers)
    assert answer.status == 401


async def test_url_verification_challenge(slack):
    answer = await slack.send.event({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"})
    assert answer.status == 200
    assert answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_healthz(slack):
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{slack.runner.port}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["ok"] is True


# --- acks, retries and rate limits ----------------------------------------------------------------


async def test_ack_does_not_wait_for_a_slow_slack(slack):
    slack.api.latency = 1.5  # every Web API call (users.info, chat.postMessage) is slow
    started = time.monotonic()
    answer = await slack.send.event(event_envelope(dm_event(CAMDEN, "what deadlines are coming up?")))
    acked = time.monotonic() - started
    assert answer.status == 200
    assert acked < 0.5, f"ack took {acked:.2f}s"
    await slack.settle()
    assert len(slack.dm(CAMDEN)) == 1


async def test_retry_of_the_same_event_posts_nothing_more(slack):
    envelope = event_envelope(dm_event(CAMDEN, "Council: Camden\nOffer: PbR pathfinder\nContact name: Jo Bloggs\n"
                                       "Contact role: Head of early help\nNumber of children's centres: 12"))
    first = await slack.send.event(envelope)
    await slack.settle()
    assert first.status == 200
    posted = len(slack.api.calls_to("chat.postMessage"))
    assert posted == 2  # the acknowledgement to Jo and one notice to the team
    for attempt in (1, 2, 3):
        again = await slack.send.event(envelope, retry_num=attempt)
        assert again.status == 200
    await slack.settle()
    assert len(slack.api.calls_to("chat.postMessage")) == posted
    export = await slack.runtime.service.export()
    assert [s["reference"] for s in export["submissions"]] == ["PBR-0001"]


async def test_a_retry_racing_the_first_delivery_is_still_one_answer(slack):
    envelope = event_envelope(dm_event(CAMDEN, "what have we sent?"))
    answers = await asyncio.gather(*(slack.send.event(envelope, retry_num=n or None) for n in range(3)))
    assert [a.status for a in answers] == [200, 200, 200]
    await slack.settle()
    assert len(slack.dm(CAMDEN)) == 1


async def test_rate_limited_post_is_retried_after_retry_after(slack):
    slack.api.fail_next("chat.postMessage", status=429, retry_after=1)
    await slack.send.event(event_envelope(dm_event(CAMDEN, "what deadlines are coming up?")))
    await slack.settle()
    posts = slack.api.calls_to("chat.postMessage")
    assert len(posts) == 2  # the 429, then the same message again
    assert posts[0].args == posts[1].args
    assert posts[1].at - posts[0].at >= 1.0  # waited Retry-After
    assert "deadline" in posts[1].all_text().lower()


# --- every real payload ------------------------------------------------------------------------


def _corpus_requests() -> list[tuple[str, str, str]]:
    """(name, body, content type) for every file, as Slack would put it on the wire."""
    requests = []
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix not in (".json", ".txt"):
            continue
        raw = path.read_text(encoding="utf-8")
        name = str(path.relative_to(CORPUS))
        if path.name.startswith("interactivity__"):
            body = "payload=" + quote(json.dumps(json.loads(raw)))
            requests.append((name, body, "application/x-www-form-urlencoded"))
        elif path.suffix == ".txt":
            requests.append((name, raw.strip(), "application/x-www-form-urlencoded"))
        else:
            requests.append((name, raw, "application/json"))
            envelope = json.loads(raw)
            if isinstance(envelope, dict) and isinstance(envelope.get("payload"), dict):
                # A Socket Mode envelope: its payload is what HTTP delivery carries.
                requests.append((name + "#payload", json.dumps(envelope["payload"]), "application/json"))
    return requests


CORPUS_REQUESTS = _corpus_requests()


def test_corpus_is_all_there():
    assert len(CORPUS_REQUESTS) >= 87


async def test_every_corpus_payload_is_answered_without_a_server_error(slack, caplog):
    statuses = {}
    for name, body, content_type in CORPUS_REQUESTS:
        answer = await slack.send.send(body, content_type=content_type)
        statuses[name] = answer.status
    await slack.settle(timeout=30)
    failures = {name: status for name, status in statuses.items() if status >= 500}
    assert not failures
    # Events, commands and interactions that are ours are acknowledged with 200.
    for name, status in statuses.items():
        if name.startswith(("bolt-python/events__message__test_message_L", "bolt-python/slash__")):
            assert status == 200, name
    assert slack.runner.background.failures == 0


async def test_corpus_commands_from_other_installs_get_help(slack):
    # A slash command the workspace named differently ("/hello-world") is still ours.
    body = (CORPUS / "bolt-python" / "slash__test_asgi_http_L72.txt").read_text().strip()
    answer = await slack.send.send(body, content_type="application/x-www-form-urlencoded")
    assert answer.status == 200
    await slack.settle()
    # Its user (W111) is not in the workspace stand-in: no DM can be opened, nothing crashes.
    assert slack.runner.background.failures in (0, 1)


# --- start-up and shutdown ------------------------------------------------------------------------


async def test_without_slack_settings_runs_without_slack_and_says_so_once(settings_factory, caplog):
    caplog.set_level(logging.INFO, logger="bot.runner")
    settings = settings_factory()
    runtime = create_service(settings)
    assert await start_slack(runtime.service, settings, renderer=runtime.renderer) is None
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.runner"]
    assert lines == [NOT_CONFIGURED]
    await runtime.store.close()


async def test_token_without_signing_secret_is_not_configured(settings_factory, caplog):
    caplog.set_level(logging.INFO, logger="bot.runner")
    settings = settings_factory(SLACK_BOT_TOKEN="xoxb-1")
    runtime = create_service(settings)
    assert await start_slack(runtime.service, settings, renderer=runtime.renderer) is None
    assert [r.getMessage() for r in caplog.records if r.name == "bot.runner"] == [NOT_CONFIGURED]
    await runtime.store.close()


async def test_stop_finishes_acknowledged_work(settings_factory, clock):
    api = await make_api().start()
    api.latency = 0.3
    runtime = create_service(slack_settings(settings_factory, api), clock=clock)
    await runtime.start(smtp=False, slack=True, scheduler=False)
    from slack_support.signing import SlackSender

    async with SlackSender(runtime.slack.url) as send:
        for text in ("help", "what deadlines are coming up?", "what have we sent?"):
            assert (await send.event(event_envelope(dm_event(CAMDEN, text)))).status == 200
    await runtime.stop()  # acknowledged: answered before stop() returns
    assert len(api.calls_to("chat.postMessage")) == 3
    await api.stop()



async def test_answers_even_when_auth_test_failed_at_start(settings_factory, clock):
    from slack_support.signing import SlackSender, mention_event
    from slack_support.webapi import BOT_USER_ID

    api = await make_api().start()
    api.fail_next("auth.test", error="service_unavailable")
    runtime = create_service(slack_settings(settings_factory, api), clock=clock)
    await runtime.start(smtp=False, slack=True, scheduler=False)
    try:
        async with SlackSender(runtime.slack.url) as send:
            event = mention_event(CAMDEN, f"<@{BOT_USER_ID}> what deadlines are coming up?", channel="C0GENERAL")
            started = time.monotonic()
            assert (await send.event(event_envelope(event))).status == 200
            assert time.monotonic() - started < 1.0
            await runtime.slack.drain(10)
        [reply] = [c for c in api.calls_to("chat.postMessage") if c["channel"] == "C0GENERAL"]
        assert "The deadlines" in reply.all_text()
        assert api.count("auth.test") == 2  # at start (failed), then once more in the background
        assert runtime.slack.bot.identity.result is not None
    finally:
        await runtime.stop()
        await api.stop()
