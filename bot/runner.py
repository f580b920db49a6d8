"""Starting and stopping the Slack channel inside the service's event loop.

`start_slack` is called by `intake.runtime.composition.Runtime.start`:
  - no SLACK_BOT_TOKEN (or neither a signing secret nor an app token): no Slack, one log line;
  - SLACK_APP_TOKEN set: Socket Mode (no public URL needed);
  - otherwise HTTP: POST /slack/events (events, commands, interactivity and options all on
    the one URL), added to the service's HTTP server on CIB_HTTP_HOST:CIB_HTTP_PORT.
Web API calls go to CIB_SLACK_API_URL and are retried on 429 after Retry-After.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.bolt_app import SlackBot
from bot.posting import SlackCarrier
from bot.tasks import Background
from bot.slack_views import SlackViews
from intake.render import Renderer
from intake.runtime.settings import Settings, secret

log = logging.getLogger(__name__)

NOT_CONFIGURED = (
    "Slack is not configured: running without Slack (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)"
)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def make_client(settings: Settings, *, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    return AsyncWebClient(
        token=secret(settings.slack_bot_token),
        base_url=settings.slack_api_url,
        session=session,
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            # 429: wait Retry-After, then try again (a burst of replies must not be lost).
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
        ],
    )


@dataclass
class SlackRunner:
    bot: SlackBot
    mode: str  # "http" | "socket"
    session: aiohttp.ClientSession
    http: web.AppRunner | None = None
    host: str | None = None
    port: int | None = None
    socket: Any = None
    carrier: Any = None  # the outbox's Slack carrier, sharing the bot's directory
    drain_timeout: float = 30.0
    _stopped: bool = field(default=False, init=False)

    @property
    def url(self) -> str | None:
        return f"http://{self.host}:{self.port}{EVENTS_PATH}" if self.port is not None else None

    @property
    def background(self) -> Background:
        return self.bot.background

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until everything acknowledged so far has been answered."""
        return await self.bot.background.drain(timeout)

    async def stop(self) -> None:
        """Stop taking requests, finish what was acknowledged, then close."""
        if self._stopped:
            return
        self._stopped = True
        if self.socket is not None:
            await self.socket.close_async()
        if self.http is not None:
            # Closes the port, lets requests being handled finish (and ack).
            await self.http.cleanup()
        await self.bot.background.drain(self.drain_timeout)
        if self.carrier is not None:
            self.carrier.share(None)  # the bot's client closes below
        await self.bot.identity.close()
        await self.session.close()
        log.info("Slack stopped")


def add_routes(app: web.Application, bot: SlackBot) -> None:
    verifier = SignatureVerifier(secret(bot.ctx.settings.slack_signing_secret) or "")

    async def events(request: web.Request) -> web.Response:
        # The signature is checked on the raw bytes before anything reads them: an unsigned
        # request is refused without its body ever being parsed.
        bot.background.arrived()
        body = await request.read()
        try:
            body.decode("utf-8")  # Slack sends UTF-8; the signature is computed over text
        except UnicodeDecodeError:
            return web.Response(status=400, text="malformed request")
        try:
            signed = verifier.is_valid_request(body, dict(request.headers))
        except ValueError:  # a timestamp that is not a number
            signed = False
        if not signed:
            return web.Response(status=401, text="invalid signature")
        if not _well_formed(body, request.content_type):
            return web.Response(status=400, text="malformed request")
        # From arrival to ack, background work steps aside (see Background.after_acks).
        with bot.background.acking():
            try:
                bolt_request = await to_bolt_request(request)
            except Exception:  # noqa: BLE001 - a body Bolt cannot read is the sender's fault
                return web.Response(status=400, text="malformed request")
            return await to_aiohttp_response(await bot.app.async_dispatch(bolt_request))

    app.router.add_post(EVENTS_PATH, events)


def _well_formed(body: bytes, content_type: str) -> bool:
    """A body Slack could have sent: UTF-8; JSON for events; a form whose `payload`, if
    any, is a JSON object (interactivity) for the rest."""
    try:
        text = body.decode("utf-8")
        if content_type == "application/json":
            envelope = json.loads(text)
            return isinstance(envelope, dict) and isinstance(envelope.get("type"), str) and _shaped(envelope)
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
        if "payload" in fields:
            payload = json.loads(fields["payload"][0])
            return _interaction(payload) and _shaped(payload)
        return all(_SLACK_ID.fullmatch(value) for key in ("user_id", "channel_id", "team_id")
                   for value in fields.get(key, []))
    except (UnicodeDecodeError, ValueError):
        return False


# The parts of a request Bolt reads without looking at their type (Slack always sends them
# so): ids are Slack's (short, upper-case letters and digits: replies are addressed to them),
# or an object with one as its "id"; these are objects; these strings.
_SLACK_ID = re.compile(r"[A-Z0-9]{1,64}")
_IDS = ("user", "channel", "team", "enterprise")
_OBJECTS = ("event", "message", "previous_message", "item", "view", "container", "assistant_thread",
            "function_data", "workflow_step")
_STRINGS = ("type", "subtype", "callback_id", "action_id", "block_id", "channel_type", "bot_id", "tab")


def _shaped(payload: object) -> bool:
    if not isinstance(payload, dict):
        return False
    for key in _IDS:
        value = payload.get(key)
        found = value.get("id") if isinstance(value, dict) else value
        if found is not None and not (isinstance(found, str) and _SLACK_ID.fullmatch(found)):
            return False
    if any(payload.get(key) is not None and not isinstance(payload[key], str) for key in _STRINGS):
        return False
    if any(key in payload and not _shaped(payload[key]) for key in _OBJECTS):
        return False
    return all(
        key not in payload or isinstance(payload[key], list) and all(_shaped(item) for item in payload[key])
        for key in ("authorizations", "actions")
    )


def _interaction(payload: object) -> bool:
    """The parts of an interactivity payload every listener relies on."""
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return False
    if not isinstance(payload.get("user"), dict) or "id" not in payload["user"]:
        return False
    if payload["type"] in ("view_submission", "view_closed"):
        view = payload.get("view")
        return isinstance(view, dict) and all(k in view for k in ("id", "type", "callback_id"))
    if payload["type"] == "block_actions":
        return isinstance(payload.get("actions"), list)
    return True


def http_app(bot: SlackBot) -> web.Application:
    """The Slack endpoint on a server of its own (benchmarks; the service shares one)."""
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "pending": len(bot.background)})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    add_routes(app, bot)
    app.router.add_get(HEALTH_PATH, health)
    return app


async def start_slack(
    service: Any,
    settings: Settings,
    *,
    renderer: Renderer | None = None,
    poster: Any = None,
    http: web.Application | None = None,
    team: Any = None,
) -> SlackRunner | None:
    """`poster`: the outbox's Slack dispatcher, whose carrier (`bot.posting`) the bot
    shares its directory with; the bot posts through it what the core records. `team`:
    the CIB team's desk (intake.team.TeamDesk), for their buttons and commands."""
    socket_mode = bool(settings.slack_app_token)
    if not settings.slack_bot_token or not (settings.slack_signing_secret or socket_mode):
        log.info(NOT_CONFIGURED)
        return None
    views = SlackViews(renderer, templates_dir=settings.templates_dir)
    views.warm()
    # One HTTP session for every Web API call: keep-alive instead of a connection per call.
    session = aiohttp.ClientSession()
    client = make_client(settings, session=session)
    bot = SlackBot(service=service, settings=settings, views=views, client=client, poster=poster, team=team)
    carrier = getattr(poster, "transport", None)
    if isinstance(carrier, SlackCarrier):
        carrier.share(bot.directory)
    runner = SlackRunner(bot=bot, mode="socket" if socket_mode else "http", session=session, carrier=carrier)
    try:
        if not await bot.identity.learn():
            log.warning("Slack: could not confirm the bot token yet; will try again on the first request")
        if socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            runner.socket = AsyncSocketModeHandler(bot.app, secret(settings.slack_app_token), web_client=client)
            await runner.socket.connect_async()
            log.info("Slack connected in Socket Mode")
        elif http is not None:
            # The service's HTTP server (intake.runtime.composition) serves it; host and port are set there.
            add_routes(http, bot)
            log.info("Slack events at %s", EVENTS_PATH)
        else:
            runner.http = web.AppRunner(http_app(bot), access_log=None, shutdown_timeout=5.0)
            await runner.http.setup()
            site = web.TCPSite(runner.http, settings.http_host, settings.http_port)
            await site.start()
            runner.host = settings.http_host
            runner.port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
            log.info("Slack listening on http://%s:%s%s", runner.host, runner.port, EVENTS_PATH)
    except BaseException:
        if runner.http is not None:
            await runner.http.cleanup()
        await session.close()
        raise
    return runner
