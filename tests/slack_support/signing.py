"""Requests to the bot's HTTP endpoint, signed exactly as Slack signs them.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 and the app's signing secret and
sends `X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp`. Events arrive as JSON;
slash commands as a form body; interactivity and options as `payload=<url-encoded JSON>`.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
_ids = itertools.count(1)


def signature(body: str | bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str | bytes,
    *,
    content_type: str,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(body, ts, secret),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


@dataclass
class Answer:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


# --- payload builders -------------------------------------------------------------------


def event_envelope(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "verification-token",
        "team_id": "T111",
        "api_app_id": "A111",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):010d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"enterprise_id": None, "team_id": "T111", "user_id": "UBOT0001", "is_bot": True,
             "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }


def new_ts() -> str:
    return f"{int(time.time())}.{next(_ids):06d}"


def dm_event(user: str, text: str, *, ts: str | None = None, **extra: Any) -> dict[str, Any]:
    ts = ts or new_ts()
    return {
        "client_msg_id": f"msg-{ts}",
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "team": "T111",
        "channel": "D" + user.lstrip("UW"),
        "event_ts": ts,
        "channel_type": "im",
        **extra,
    }


def mention_event(user: str, text: str, *, channel: str = "C0CHANNEL", ts: str | None = None,
                  **extra: Any) -> dict[str, Any]:
    ts = ts or new_ts()
    return {
        "client_msg_id": f"msg-{ts}",
        "type": "app_mention",
        "text": text,
        "user": user,
        "ts": ts,
        "team": "T111",
        "channel": channel,
        "event_ts": ts,
        **extra,
    }


def command_form(user: str, text: str, *, command: str = "/cib", channel: str = "C0CHANNEL",
                 channel_name: str = "general", response_url: str = "") -> dict[str, str]:
    return {
        "token": "verification-token",
        "team_id": "T111",
        "team_domain": "cib-test",
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A111",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{next(_ids)}.111.{hashlib.md5(text.encode()).hexdigest()[:12]}",
    }


class SlackSender:
    """Posts signed requests to the bot's endpoint as Slack would."""

    def __init__(self, url: str, *, secret: str = SIGNING_SECRET) -> None:
        self.url = url
        self.secret = secret
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SlackSender:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def post_raw(self, body: str | bytes, headers: dict[str, str]) -> Answer:
        assert self._session is not None
        async with self._session.post(self.url, data=body, headers=headers) as response:
            return Answer(response.status, await response.text())

    async def send(self, body: str, *, content_type: str, secret: str | None = None,
                   timestamp: int | None = None, retry_num: int | None = None) -> Answer:
        headers = signed_headers(body, content_type=content_type, secret=secret or self.secret,
                                 timestamp=timestamp, retry_num=retry_num)
        return await self.post_raw(body, headers)

    async def event(self, envelope: dict[str, Any], **options: Any) -> Answer:
        return await self.send(json.dumps(envelope), content_type="application/json", **options)

    async def command(self, form: dict[str, str], **options: Any) -> Answer:
        return await self.send(urlencode(form), content_type="application/x-www-form-urlencoded",
                               **options)

    async def interaction(self, payload: dict[str, Any], **options: Any) -> Answer:
        body = "payload=" + quote(json.dumps(payload))
        return await self.send(body, content_type="application/x-www-form-urlencoded", **options)


def element_state(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """What Slack reports in view.state for `element` holding `value`."""
    kind = element["type"]
    if kind in ("external_select", "static_select"):
        option = value if isinstance(value, dict) else {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
        return {"type": kind, "selected_option": option if value else None}
    if kind.startswith("multi_"):
        return {"type": kind, "selected_options": [
            {"text": {"type": "plain_text", "text": str(v)}, "value": str(v)} for v in (value or [])
        ]}
    return {"type": kind, "value": None if value in (None, "") else str(value)}


def view_submission(user: str, view: dict[str, Any], values: dict[str, Any], *,
                    view_id: str | None = None, view_hash: str | None = None) -> dict[str, Any]:
    """A view_submission for a modal the bot opened, with `values` keyed by block_id;
    blocks not named keep their initial value (as Slack does)."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        if block["block_id"] in values:
            value = values[block["block_id"]]
        else:
            value = element.get("initial_option") or element.get("initial_value")
        state[block["block_id"]] = {element["action_id"]: element_state(element, value)}
    number = next(_ids)
    return {
        "type": "view_submission",
        "team": {"id": "T111", "domain": "cib-test"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification-token",
        "trigger_id": f"{number}.111.submit",
        "view": {
            **view,
            "id": view_id or view.get("id") or f"VSUB{number:06d}",
            "team_id": "T111",
            "state": {"values": state},
            "hash": view_hash or view.get("hash") or f"{int(time.time())}.h{number}",
            "root_view_id": view_id or view.get("id"),
            "app_id": "A111",
            "bot_id": "BBOT0001",
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }


def block_suggestion(user: str, view: dict[str, Any], block_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "block_suggestion",
        "user": {"id": user, "username": user.lower(), "team_id": "T111"},
        "container": {"type": "view", "view_id": view.get("id", "V0")},
        "api_app_id": "A111",
        "token": "verification-token",
        "action_id": "value",
        "block_id": block_id,
        "value": value,
        "team": {"id": "T111", "domain": "cib-test"},
        "view": view,
    }


def block_action(user: str, action_id: str, value: str, *, channel: str = "D0CAMDEN1") -> dict[str, Any]:
    number = next(_ids)
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification-token",
        "container": {"type": "message", "message_ts": new_ts(), "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{number}.111.action",
        "team": {"id": "T111", "domain": "cib-test"},
        "channel": {"id": channel, "name": "directmessage"},
        "actions": [{"action_id": action_id, "block_id": "form:" + value, "value": value,
                     "type": "button", "action_ts": new_ts(), "text": {"type": "plain_text", "text": "Fill in"}}],
    }
