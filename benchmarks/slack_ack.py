"""How fast the bot acknowledges Slack, beside a bare Bolt app that only acks.

    python benchmarks/slack_ack.py [--requests 600] [--concurrency 50] [--rounds 3] [--time-limit 120]

Loopback only. Two child processes serve the two apps over aiohttp: the bot (the real
IntakeService on a temporary SQLite database; each message is kept, one database commit,
before it is acknowledged; its background work included) and a bare
AsyncApp whose listeners only ack, both verifying signatures and with the same
authorisation. This process sends each the same burst of signed events (DMs with questions
and submissions) and `/cib` commands, `--concurrency` at a time, alternating bot and bare
for `--rounds` rounds (the bot's background work finishes before the bare app's burst), and
answers the bot's Web API calls from the local stand-in (tests/slack_support). Reported:
ack latency p50/p99/max and requests per second over all rounds. Target: bot p99 under
30 ms, and at least 0.7x the bare app's throughput.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import aiohttp  # noqa: E402

from slack_support.signing import SIGNING_SECRET, command_form, dm_event, event_envelope, signed_headers  # noqa: E402
from slack_support.webapi import BOT_TOKEN, FakeSlack  # noqa: E402

USERS = [(f"U0BENCH{n:03d}", f"user{n}@camden.gov.uk") for n in range(20)]
TEXTS = [
    "when is the PbR deadline?",
    "what have we sent?",
    "who are the London leads?",
    "Offer: PbR pathfinder\nCouncil: Camden\nContact name: Jo Bloggs\n"
    "Contact role: Head of early help\nNumber of children's centres: 12",
    "Could someone ring me about the peer challenge?",
]
COMMANDS = ["deadlines", "status", "help"]


# --- the servers (child process) -----------------------------------------------------------


async def _bare_app(api_url: str, port_out: multiprocessing.Queue) -> None:
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.auth import BotIdentity

    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
    identity = BotIdentity(client)
    await identity.learn()
    app = AsyncApp(client=client, authorize=identity, signing_secret=SIGNING_SECRET,
                   process_before_response=True)

    @app.event("message")
    async def on_message(ack):  # noqa: ANN001
        await ack()

    @app.command("/cib")
    async def on_command(ack):  # noqa: ANN001
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port_out.put(("bare", site._server.sockets[0].getsockname()[1]))  # type: ignore[union-attr]
    await asyncio.Event().wait()


async def _bot(api_url: str, port_out: multiprocessing.Queue, database: str) -> None:
    from intake.runtime.composition import create_service
    from intake.runtime.settings import Settings

    settings = Settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        slack_api_url=api_url,
        http_host="127.0.0.1",
        http_port=0,
        database_url=f"sqlite+aiosqlite:///{database}",
        scheduler_enabled=False,
        team_slack_channel="C0CIBTEAM",
    )
    runtime = create_service(settings)
    await runtime.start(smtp=False, slack=True, scheduler=False)
    port_out.put(("bot", runtime.slack.port))
    await asyncio.Event().wait()


def _serve(which: str, api_url: str, port_out: multiprocessing.Queue, database: str) -> None:
    import logging

    import os

    logging.basicConfig(level=logging.ERROR)
    debug = bool(os.environ.get("SLACK_ACK_DEBUG"))
    if debug:  # report event-loop stalls over 20 ms
        logging.getLogger("asyncio").setLevel(logging.WARNING)
    coroutine = _bot(api_url, port_out, database) if which == "bot" else _bare_app(api_url, port_out)
    if debug:
        loop = asyncio.new_event_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = 0.02
        loop.run_until_complete(coroutine)
    else:
        asyncio.run(coroutine)


# --- the burst (this process) ------------------------------------------------------------------


@dataclass
class Result:
    name: str
    latencies: list[float]
    seconds: float
    errors: int

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def _requests(count: int) -> list[tuple[str, dict[str, str]]]:
    """Signed (body, headers): four events to one command, across 20 users."""
    out = []
    for n in range(count):
        user = USERS[n % len(USERS)][0]
        if n % 5 == 4:
            body = urlencode(command_form(user, COMMANDS[n % len(COMMANDS)], channel="D" + user[1:]))
            content_type = "application/x-www-form-urlencoded"
        else:
            import json

            body = json.dumps(event_envelope(dm_event(user, TEXTS[n % len(TEXTS)])))
            content_type = "application/json"
        out.append((body, signed_headers(body, content_type=content_type)))
    return out


async def _burst(name: str, url: str, count: int, concurrency: int, limit: float) -> Result:
    requests = _requests(count)
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                body, headers = queue.get_nowait()
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), limit)
        seconds = time.perf_counter() - started
    return Result(name, latencies, seconds, errors)


async def _warm_up(url: str, api: FakeSlack | None) -> None:
    """One of each kind of request, one at a time, and their background work finished:
    first-use costs (compiling queries and templates) are not what is measured."""
    async with aiohttp.ClientSession() as session:
        for body, headers in _requests(len(TEXTS) * len(COMMANDS) * 2):
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
    if api is not None:
        await _wait_until_idle(api)


async def _wait_until_idle(api: FakeSlack, *, quiet: float = 1.0, limit: float = 120.0) -> float:
    """Until the bot's background work stops calling the Web API; returns how long."""
    started = time.monotonic()
    seen = -1
    while time.monotonic() - started < limit:
        if len(api.calls) == seen:
            return time.monotonic() - started - quiet
        seen = len(api.calls)
        await asyncio.sleep(quiet)
    return time.monotonic() - started


def _table(results: list[Result], count: int, concurrency: int, drained: float, posts: int) -> None:
    rows = [
        (r.name, len(r.latencies), r.errors, f"{r.percentile(50):.1f}", f"{r.percentile(99):.1f}",
         f"{max(r.latencies) * 1000:.1f}", f"{r.rate:.0f}")
        for r in results
    ]
    header = ("app", "requests", "non-200", "p50 ms", "p99 ms", "max ms", "req/s")
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Slack ack latency: {count} signed requests, {concurrency} concurrent, loopback")
        for column in header:
            table.add_column(column, justify="right" if column != "app" else "left")
        for row in rows:
            table.add_row(*[str(cell) for cell in row])
        Console().print(table)
    except ImportError:
        print(" | ".join(header))
        for row in rows:
            print(" | ".join(str(cell) for cell in row))
    bot, bare = results
    print(f"bot p99 {bot.percentile(99):.1f} ms (target < 30): {'ok' if bot.percentile(99) < 30 else 'MISSED'}")
    share = bot.rate / bare.rate if bare.rate else 0
    print(f"bot throughput {share:.0%} of bare Bolt (target >= 70%): {'ok' if share >= 0.7 else 'MISSED'}")
    print(f"bot background work (core + {posts} Web API posts per burst) finished within {drained:.1f} s of a burst")


async def main(count: int, concurrency: int, limit: float, rounds: int) -> None:
    api = await FakeSlack(token=BOT_TOKEN).start()
    for user, email in USERS:
        api.add_user(user, email)
    context = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue = context.Queue()
    results = {"bot": Result("bot", [], 0.0, 0), "bare": Result("bare", [], 0.0, 0)}
    drained, posts = 0.0, 0
    children = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            urls = {}
            for which in ("bot", "bare"):
                # Not a daemon: the bot starts document workers of its own (stopped in `finally`).
                child = context.Process(target=_serve, args=(which, api.api_url, ports, f"{tmp}/bench.sqlite3"))
                child.start()
                children.append(child)
                name, port = await asyncio.get_running_loop().run_in_executor(None, ports.get, True, 60)
                urls[name] = f"http://127.0.0.1:{port}/slack/events"
            await _warm_up(urls["bot"], api)
            await _warm_up(urls["bare"], None)
            # Alternate the two, so a busy moment on a shared machine hits both alike.
            for _ in range(rounds):
                for which in ("bot", "bare"):
                    api.reset()
                    burst = await _burst(which, urls[which], count, concurrency, limit)
                    total = results[which]
                    total.latencies += burst.latencies
                    total.seconds += burst.seconds
                    total.errors += burst.errors
                    if which == "bot":
                        # The bot's own work after the acks, finished before the bare app runs.
                        drained = max(drained, await _wait_until_idle(api, limit=limit))
                        posts = api.count("chat.postMessage")
        finally:
            for child in children:
                child.terminate()
                child.join(10)
    await api.stop()
    _table([results["bot"], results["bare"]], count * rounds, concurrency, drained, posts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="alternating bursts per app")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds, per burst")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.concurrency, arguments.time_limit, arguments.rounds))
