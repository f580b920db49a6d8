"""A local stand-in for the Slack Web API, for tests and benchmarks.

An aiohttp app on 127.0.0.1 (a free port) that answers the methods the bot uses with
realistic bodies and records every call, in the spirit of bolt-python's
tests/mock_web_api_server (MIT), but async, on a free port, with per-method bodies.
The bot is pointed at it with CIB_SLACK_API_URL (`Settings.slack_api_url`).

    slack = FakeSlack()
    slack.add_user("U123", "jo.bloggs@camden.gov.uk")
    await slack.start()            # slack.api_url -> "http://127.0.0.1:PORT/api/"
    ...
    posts = await slack.wait_for("chat.postMessage", 1)
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from slack_support.blockkit import message_problems, view_problems

BOT_TOKEN = "xoxb-test-token"
TEAM_ID = "T111"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
APP_TOKEN = "xapp-1-test-app-token"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)

    def __getitem__(self, key: str) -> Any:
        return self.args[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.args.get(key, default)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.args.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else blocks

    @property
    def view(self) -> dict[str, Any]:
        view = self.args.get("view") or {}
        return json.loads(view) if isinstance(view, str) else view

    def all_text(self) -> str:
        """The message text plus every string inside its blocks (for assertions)."""
        parts = [str(self.args.get("text") or "")]

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
            elif isinstance(node, str):
                parts.append(node)

        walk(self.blocks)
        return "\n".join(parts)


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    error: str | None
    times: int


class FakeSlack:
    def __init__(self, *, token: str = BOT_TOKEN, latency: float = 0.0) -> None:
        self.token = token
        self.latency = latency  # seconds added to every answer (a slow Slack)
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        # Socket Mode: envelopes to push to the connected app, and what it answered.
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: dict[str, dict[str, Any]] = {}
        self._socket_connected = asyncio.Event()
        # Block Kit that Slack would have refused (invalid_blocks): (method, problems).
        self.refused: list[tuple[str, list[str]]] = []

    # --- set-up ---------------------------------------------------------------------

    def add_user(
        self, user_id: str, email: str | None, *, name: str = "", is_bot: bool = False
    ) -> None:
        profile: dict[str, Any] = {"real_name": name or user_id, "display_name": name or user_id}
        if email is not None:
            profile["email"] = email
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": (name or user_id).lower().replace(" ", "."),
            "real_name": name or user_id,
            "deleted": False,
            "is_bot": is_bot,
            "is_admin": False,
            "tz": "Europe/London",
            "profile": profile,
        }

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with `status` (429: Retry-After), or
        with HTTP 200 and {"ok": false, "error": error} when `error` is given."""
        self._failures.setdefault(method, []).append(_Failure(status, retry_after, error, times))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for socket in self.sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- inspection -----------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def count(self, method: str) -> int:
        return len(self.calls_to(method))

    async def wait_for(self, method: str, count: int = 1, *, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` has been called at least `count` times; return those calls."""

        async def reached() -> list[Call]:
            async with self._changed:
                await self._changed.wait_for(lambda: self.count(method) >= count)
            return self.calls_to(method)

        try:
            return await asyncio.wait_for(reached(), timeout)
        except TimeoutError:
            seen = [c.method for c in self.calls]
            raise AssertionError(
                f"expected {count} call(s) to {method} within {timeout}s; calls were {seen}"
            ) from None

    def reset(self) -> None:
        self.calls.clear()

    # --- the API ----------------------------------------------------------------------

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            else:
                args.update(await request.post())
        headers = dict(request.headers)
        if self.latency:
            await asyncio.sleep(self.latency)
        await self._record(Call(method, args, headers))

        failures = self._failures.get(method)
        if failures:
            failure = failures[0]
            failure.times -= 1
            if failure.times <= 0:
                failures.pop(0)
            if failure.error is not None:
                return web.json_response({"ok": False, "error": failure.error})
            extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=failure.status, headers=extra
            )

        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth else str(args.get("token", ""))
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                return web.json_response({"ok": False, "error": "not_allowed_token_type"})
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"})
        if method != "api.test" and token != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        problems = _block_kit_problems(method, args)
        if problems:
            self.refused.append((method, problems))
            return web.json_response({"ok": False, "error": "invalid_blocks", "errors": problems})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        body = handler(args) if handler else {"ok": True}
        return web.json_response(body)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1,
                                "debug_info": {"host": "local"}, "connection_info": {"app_id": "A111"}})
        self._socket_connected.set()
        async for message in socket:
            if message.type.name == "TEXT":
                data = json.loads(message.data)
                if "envelope_id" in data:
                    async with self._changed:
                        self.socket_acks[data["envelope_id"]] = data
                        self._changed.notify_all()
        return socket

    async def push(self, envelope: dict[str, Any], *, timeout: float = 5.0) -> dict[str, Any]:
        """Send a Socket Mode envelope to the connected app; return its acknowledgement."""
        await asyncio.wait_for(self._socket_connected.wait(), timeout)
        await self.sockets[-1].send_json(envelope)
        envelope_id = envelope["envelope_id"]

        async def acked() -> dict[str, Any]:
            async with self._changed:
                await self._changed.wait_for(lambda: envelope_id in self.socket_acks)
            return self.socket_acks[envelope_id]

        return await asyncio.wait_for(acked(), timeout)

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = await request.read()
        await self._record(Call("upload", {"file_id": file_id}, dict(request.headers)))
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    def response_url(self, name: str) -> str:
        """A `response_url` for a payload: what the app sends there is recorded as a call
        to "response_url" with `name`."""
        return f"{self.url}/respond/{name}"

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._record(Call("response_url", {"name": request.match_info["name"], **body}, dict(request.headers)))
        return web.Response(text="ok")

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://cib-test.slack.com/",
            "team": "CIB test",
            "user": "cib-intake",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", "")).strip()
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if users.split(",")[0] not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0].lstrip("UW")}}

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts,
                   "text": args.get("text", "")}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": args.get("text", "")}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view") or {}
        view = json.loads(view) if isinstance(view, str) else view
        view_id = f"V{next(self._ids):08d}"
        return {
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "hash": f"{int(time.time())}.{view_id[-4:]}",
            "root_view_id": view_id,
            "app_id": "A111",
            "bot_id": BOT_ID,
            "state": {"values": {}},
        }

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return {"ok": True, "view": self._view(args)}

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": self._view(args)}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files") or "[]"
        files = json.loads(files) if isinstance(files, str) else files
        return {
            "ok": True,
            "files": [
                {"id": f["id"], "title": f.get("title", ""), "name": f.get("title", ""),
                 "size": len(self.uploads.get(f["id"], b""))}
                for f in files
            ],
        }


def _block_kit_problems(method: str, args: dict[str, Any]) -> list[str]:
    if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
        return message_problems(args)
    if method in ("views.open", "views.update", "views.push"):
        return view_problems(args)
    return []
