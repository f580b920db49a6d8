"""What the benchmarks that run `cib serve` as its own process share: free ports, the
service's environment, the process itself, sending one message over SMTP, and signing in
to the workspace from the link a relay received."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import aiosmtplib

ROOT = Path(__file__).resolve().parent.parent
BORDER = "mx.cib.test"
INTAKE = "eoi@cib.test"
TEAM = "team@local.gov.uk"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(database_url: str, smtp: int, http: int, relay: int, **more: str) -> dict[str, str]:
    """`cib serve`'s environment: ours, without any CIB_ or SLACK_ setting of the caller's,
    behind a border server that checks senders, with no scheduler and no rate limit that
    a benchmark's load would reach; `more` adds or overrides settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    env.update(
        PYTHONPATH=str(ROOT), CIB_DATABASE_URL=database_url, CIB_SMTP_PORT=str(smtp), CIB_HTTP_PORT=str(http),
        CIB_RELAY_HOST="127.0.0.1", CIB_RELAY_PORT=str(relay), CIB_INTAKE_ADDRESSES=INTAKE,
        CIB_FROM_ADDRESS=f"CIB intake <{INTAKE}>", CIB_AUTHSERV_ID=BORDER, CIB_SCHEDULER_ENABLED="false",
        CIB_SENDER_RATE_LIMITS="100000/60", CIB_TOTAL_RATE_LIMITS="100000/60",
    )
    env.update(more)
    return env


class Service:
    """`cib serve --no-slack` in a process of its own, started until its banner.
    `launcher` is what runs it after the interpreter (`-m intake` unless a benchmark
    wraps it, as the soak's tracemalloc mode does)."""

    def __init__(self, env: dict[str, str], folder: Path, *args: str,
                 launcher: Sequence[str] = ("-m", "intake")) -> None:
        self.env, self.folder, self.args, self.launcher = env, folder, args, tuple(launcher)
        self.process: asyncio.subprocess.Process | None = None

    @property
    def smtp(self) -> int:
        return int(self.env["CIB_SMTP_PORT"])

    @property
    def http(self) -> int:
        return int(self.env["CIB_HTTP_PORT"])

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *self.launcher, "serve", "--no-slack", *self.args, cwd=self.folder, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout=120)
        if b"is running" not in line:
            raise RuntimeError(f"the service did not start: {line!r}")

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    async def stop(self, timeout: float = 60) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=timeout)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()


async def send(port: int, raw: bytes, sender: str, *, timeout: float = 60) -> int:
    """One message over SMTP on a connection of its own; the DATA reply's code."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=timeout)
    await client.connect()
    try:
        await client.mail(sender)
        await client.rcpt(INTAKE)
        try:
            return (await client.data(raw)).code
        except aiosmtplib.SMTPResponseException as error:
            return error.code
    finally:
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            pass


async def until(condition: Callable[[], bool], timeout: float, step: float = 0.2) -> float | None:
    """Seconds until `condition` held, or None if it did not within `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        await asyncio.sleep(step)
    return None


class Mailbox(Protocol):
    def to(self, address: str) -> list: ...


async def sign_in(port: int, relay: Mailbox, address: str = TEAM):  # noqa: ANN201 - a TeamBrowser
    """A TeamBrowser signed in to the workspace of the service at `port`, the way a
    person signs in: the link from the email `relay` received. The caller closes it."""
    sys.path[:0] = [str(ROOT)]
    from tests.team_browser import TeamBrowser, link_in
    from tests.mailer import body_text

    browser = TeamBrowser(_At(port))  # type: ignore[arg-type]
    before = len(relay.to(address))
    await browser.ask_for_link(address)
    if await until(lambda: len(relay.to(address)) > before, timeout=60, step=0.05) is None:
        await browser.session.close()
        raise RuntimeError("no sign-in email arrived")
    link = link_in(body_text(relay.to(address)[-1]))
    landing = await browser.get(link)
    await browser.submit(landing, link)
    return browser


class _At:
    """What TeamBrowser needs of a runtime, for a service in another process."""

    def __init__(self, port: int) -> None:
        self.http_port = port


def percentile(values: Sequence[float], q: float) -> float:
    """The `q` quantile (0–1) of `values`, nearest rank; nan when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
