"""A whole campaign at 1x and 10x: how long the rehearsal takes, and how fast the team's
pages answer with a whole campaign's data in them.

    python benchmarks/campaign.py [--scales 1,10] [--rounds 3] [--database-url URL]

For each scale, the rehearsal of tests/test_campaign_rehearsal.py (tests/rehearsal/) is
played through the real service on a simulated clock, from the launch to the decisions:
the register's 153 councils, or a synthesised register ten times larger (1,530 councils in
the nine regions, each with its own domain), two thirds answering by every channel and
shape, the team working each day. Its workspace is checked after the last day only (the
test checks it after every day). The time of the whole rehearsal is reported.

Then `cib serve` is started as its own process on the database the rehearsal filled, and
this process signs in (the link arrives at a local relay) and crawls every page reachable
from the overview (every entry, filter, search and download) `--rounds` times, timing each
request. Beside it, side by side in the same run, a bare aiohttp server in its own process
serves one fixed page of the same size as the entries list: the floor for a page on this
machine. Reported per kind of page: p50, p99 and max in milliseconds, and how many.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import aiohttp  # noqa: E402
from aiosmtpd.smtp import SMTP  # noqa: E402

from intake.runtime.composition import create_service  # noqa: E402
from intake.campaign.register import REGIONS  # noqa: E402
from intake.runtime.settings import DEFAULT_CONFIG_DIR, Settings  # noqa: E402
from slack_support.harness import ADMIN, make_api, slack_settings  # noqa: E402
from slack_support.signing import SlackSender  # noqa: E402
from tests.conftest import Clock, Relay, _create_database, _drop_database  # noqa: E402
from tests.rehearsal.checks import check_day  # noqa: E402
from tests.rehearsal.crawl import crawl  # noqa: E402
from tests.rehearsal.driver import Rehearsal, Team, cli_runner  # noqa: E402
from tests.rehearsal.plan import DECISIONS, plan_campaign  # noqa: E402
from tests.team_browser import TEAM, TeamBrowser, link_in  # noqa: E402


def synthetic_config(scale: int, into: Path) -> Path:
    """The shipped configuration with a register `scale` times the size of the real one."""
    shutil.copytree(DEFAULT_CONFIG_DIR, into, dirs_exist_ok=True)
    if scale == 1:
        return into
    with (DEFAULT_CONFIG_DIR / "councils.csv").open() as f:
        real = list(csv.DictReader(f))
    with (into / "councils.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(real[0]))
        writer.writeheader()
        for n in range(len(real) * scale):
            writer.writerow({"gss_code": f"X{n:08d}", "name": f"Synthetic Borough Council {n}",
                             "short_names": f"Synthetic {n}", "region": REGIONS[n % len(REGIONS)],
                             "email_domains": f"synthetic{n}.gov.uk", "kind": "unitary", "dfe_code": str(5000 + n)})
    for extra in ("childrens_services_providers.csv", "contacts.csv"):  # they name real councils only
        path = into / extra
        if path.exists():
            lines = [line for line in path.read_text().splitlines() if line.startswith("#")]
            header = next(line for line in (DEFAULT_CONFIG_DIR / extra).read_text().splitlines()
                          if line and not line.startswith("#"))
            path.write_text("\n".join([*lines, header]) + "\n")
    return into


async def start_relay() -> tuple[Relay, asyncio.AbstractServer]:
    relay = Relay()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(relay), host="127.0.0.1", port=0)
    relay.port = server.sockets[0].getsockname()[1]
    return relay, server


async def rehearse(scale: int, work: Path, database_url: str | None) -> tuple[str, Path, float, dict[str, Any]]:
    """Play the campaign; returns the database URL, the config folder, seconds, counts."""
    config = synthetic_config(scale, work / f"config-{scale}x")
    url = database_url or f"sqlite+aiosqlite:///{work}/campaign-{scale}x.sqlite3"
    relay, relay_server = await start_relay()
    clock = Clock(datetime(2027, 5, 4, 6, 0, tzinfo=timezone.utc))

    def settings(**overrides: Any) -> Settings:
        values: dict[str, Any] = dict(
            database_url=url, config_dir=config, smtp_host="127.0.0.1", smtp_port=0, http_host="127.0.0.1",
            http_port=0, relay_host="127.0.0.1", relay_port=relay.port, outbox_dir=work / "outbox",
            intake_addresses=["eoi@cib.test"], from_address="CIB intake <eoi@cib.test>",
            team_emails=[TEAM], scheduler_enabled=False, authserv_id=["mx.cib.test"],
            sender_rate_limits=["100000/60"], total_rate_limits=["1000000/3600"])
        values.update(overrides)
        return Settings(_env_file=None, **values)

    api = make_api()
    probe = create_service(settings(), clock=clock)
    plan = plan_campaign(probe.service.campaign, probe.service.councils)
    for user, person in plan.slack_users.items():
        api.add_user(user, person.email, name=person.name)
    await api.start()
    runtime = create_service(slack_settings(settings, api), clock=clock)
    await runtime.start(smtp=True, slack=True, scheduler=False)
    try:
        async with TeamBrowser(runtime) as browser, SlackSender(runtime.slack.url) as sender:
            await browser.sign_in(runtime, relay)
            team = Team(browser, slack=(api, sender, ADMIN), cli=await cli_runner(runtime, relay))
            rehearsal = Rehearsal(runtime, relay, clock, plan, team, check=check_day,
                                  check_days=lambda day: day == DECISIONS)
            began = time.perf_counter()
            log = await rehearsal.run()
            seconds = time.perf_counter() - began
        data = await runtime.service.export()
    finally:
        await runtime.stop()
        await api.stop()
        relay_server.close()
    counts = {"councils": len(probe.service.councils), "messages": sum(log.sent.values()),
              "submissions": len(data["submissions"]), "nominations": len(data["nominations"]),
              "team actions": sum(log.team.values()), "relay messages": len(relay.messages)}
    return url, config, seconds, counts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(url)


class Served:
    """`cib serve` as its own process on the rehearsal's database."""

    def __init__(self, url: str, config: Path, relay_port: int, work: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
        env.update(CIB_DATABASE_URL=url, CIB_CONFIG_DIR=str(config), CIB_HTTP_PORT=str(self.port),
                   CIB_SMTP_PORT=str(free_port()), CIB_RELAY_HOST="127.0.0.1", CIB_RELAY_PORT=str(relay_port),
                   CIB_TEAM_EMAILS=TEAM, CIB_INTAKE_ADDRESSES="eoi@cib.test", CIB_SCHEDULER_ENABLED="false",
                   CIB_FROM_ADDRESS="CIB intake <eoi@cib.test>", CIB_OUTBOX_DIR=str(work / "served-outbox"),
                   CIB_LOG_LEVEL="WARNING")
        self.process = subprocess.Popen([sys.executable, "-m", "intake", "serve"], env=env, cwd=work,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.http_port = self.port

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class ServedRuntime:
    """What TeamBrowser.sign_in needs of a runtime, for a service in another process."""

    def __init__(self, port: int, relay: Relay) -> None:
        self.http_port = port
        self.delivery = self
        self.relay = relay

    async def flush(self) -> None:
        deadline = time.monotonic() + 30
        count = len(self.relay.messages)
        while len(self.relay.messages) == count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


BARE = """
import sys
from aiohttp import web
page = open(sys.argv[1], "rb").read()
async def handle(request):
    return web.Response(body=page, content_type="text/html")
app = web.Application()
app.router.add_get("/{tail:.*}", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
"""


async def time_bare(page: bytes, rounds: int, requests: int, work: Path) -> list[float]:
    path = work / "bare.html"
    path.write_bytes(page)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", BARE, str(path), str(port)])
    try:
        await wait_for(f"http://127.0.0.1:{port}/")
        times = []
        async with aiohttp.ClientSession() as session:
            for _ in range(rounds * requests):
                began = time.perf_counter()
                async with session.get(f"http://127.0.0.1:{port}/team/entries") as response:
                    await response.read()
                times.append(time.perf_counter() - began)
        return times
    finally:
        process.terminate()
        process.wait(timeout=10)


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{1000 * statistics.median(ordered):.1f} | {1000 * p99:.1f} | {1000 * ordered[-1]:.1f} | "
            f"{len(ordered)}")


async def pages(
    url: str, config: Path, rounds: int, work: Path,
) -> tuple[dict[str, list[float]], bytes, int, dict[str, int]]:
    relay, relay_server = await start_relay()
    served = Served(url, config, relay.port, work)
    try:
        await wait_for(f"http://127.0.0.1:{served.port}/team/sign-in")
        timings: dict[str, list[float]] = defaultdict(list)
        entries = b""
        count = 0
        largest: dict[str, int] = {}
        async with TeamBrowser(ServedRuntime(served.port, relay)) as browser:  # type: ignore[arg-type]
            await browser.ask_for_link(TEAM)
            await ServedRuntime(served.port, relay).flush()
            link = link_in(relay.messages[-1].get_body(("plain",)).get_content())
            landing = await browser.get(link)
            await browser.submit(landing, link)
            for _ in range(rounds):
                found = await crawl(browser, searches=["PBR-0001", "london", "Synthetic 12", "zzz"])
                assert not found.failures, found.failures[:5]
                for kind, seconds in found.timings:
                    timings[kind].append(seconds)
                count = len(found.timings)
                largest = {k: max(v, largest.get(k, 0)) for k, v in found.largest.items()}
                entries = next(html for u, html in found.pages.items() if u.endswith("/team/entries")).encode()
        return timings, entries, count, largest
    finally:
        served.stop()
        relay_server.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server (postgresql+asyncpg://...); a new database per scale (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for scale in (int(s) for s in args.scales.split(",")):
            database = await _create_database(args.database_url) if args.database_url else None
            url, config, seconds, counts = await rehearse(scale, work, database)
            print(f"\n### {scale}x a campaign: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
            print(f"\nWhole rehearsal (simulated 4 May to 10 June, checks on the last day): {seconds:.0f} s\n")
            timings, entries, count, largest = await pages(url, config, args.rounds, work)
            bare = await time_bare(entries, args.rounds, max(len(timings.get("entries", [])), 50), work)
            print(f"`cib serve` in its own process, {count} requests a crawl, {args.rounds} crawls:\n")
            print("| page | p50 ms | p99 ms | max ms | requests | largest KB |")
            print("|---|---|---|---|---|---|")
            for kind in sorted(timings):
                print(f"| {kind} | {summary(timings[kind])} | {largest.get(kind, 0) / 1024:.0f} |")
            print(f"| bare aiohttp, the entries list's {len(entries) // 1024} KB as a fixed page | {summary(bare)} | |")
            if database:
                await _drop_database(args.database_url, database)


if __name__ == "__main__":
    asyncio.run(main())
