"""Malformed requests to the Slack endpoint: the signature is checked on the raw bytes
first (401), and a signed body that Slack could not have sent gets 400: never a 500, never
a traceback, and nothing kept."""
from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest

from slack_support.harness import CAMDEN, slack  # noqa: F401
from slack_support.signing import signed_headers

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("body, content_type", [
    (b"{not json", "application/json"),
    (b'["a", "list"]', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"payload=%7Bnot+json", FORM),
    (urlencode({"payload": json.dumps({"no": "type"})}).encode(), FORM),
    (b"a=1&&&=&b", FORM),
])
async def test_a_signed_body_slack_could_not_have_sent_is_400(slack, caplog, body, content_type):  # noqa: F811
    caplog.set_level(logging.ERROR)
    answer = await slack.send.post_raw(body, signed_headers(body, content_type=content_type))
    assert answer.status == 400
    assert await slack.inbound() == []
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json"},  # no signature at all
    {"Content-Type": "application/json", "X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
])
async def test_an_unsigned_or_badly_signed_request_is_401_before_its_body_is_read(slack, headers):  # noqa: F811
    answer = await slack.send.post_raw(b"{not json", headers)
    assert answer.status == 401
    assert await slack.inbound() == []


@pytest.mark.parametrize("view", [
    {"id": "V1", "callback_id": "eoi_form", "state": {"values": {}}, "private_metadata": ""},  # no type
    {"id": "V1", "type": "modal", "callback_id": "eoi_form", "state": {"values": {}}, "private_metadata": ""},
])
async def test_a_view_submission_without_blocks_gets_an_answer_not_a_500(slack, view):  # noqa: F811
    payload = {"type": "view_submission", "team": {"id": "T0CIB"}, "user": {"id": CAMDEN}, "view": view}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    answer = await slack.send.post_raw(body, signed_headers(body, content_type=FORM))
    assert answer.status < 500
