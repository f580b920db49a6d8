"""Shared fixtures: a database per test (SQLite file, or a fresh PostgreSQL database when
CIB_TEST_DATABASE_URL points at a server), a recording SMTP relay, and a running service."""
from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from intake.runtime.composition import Runtime, create_service
from intake.runtime.settings import Settings

PG_ENV = "CIB_TEST_DATABASE_URL"
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _server_url(url: str) -> tuple[str, str]:
    """(asyncpg DSN for the server's maintenance database, SQLAlchemy URL prefix)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return dsn, parsed.render_as_string(hide_password=False).rsplit("/", 1)[0]


async def _create_database(base_url: str) -> str:
    import asyncpg

    dsn, prefix = _server_url(base_url)
    name = f"cib_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{prefix}/{name}"


async def _drop_database(base_url: str, url: str) -> None:
    import asyncpg

    dsn, _ = _server_url(base_url)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await connection.close()


async def postgres_reachable(url: str = PG_DEFAULT) -> str | None:
    """None if a PostgreSQL server answers at `url`, else the reason it does not."""
    try:
        import asyncpg

        connection = await asyncio.wait_for(asyncpg.connect(_server_url(url)[0]), timeout=3)
        await connection.close()
        return None
    except Exception as error:  # noqa: BLE001
        return f"no PostgreSQL at {url}: {error}"


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """SQLite by default; a fresh PostgreSQL database per test when CIB_TEST_DATABASE_URL is set."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield f"sqlite+aiosqlite:///{tmp_path}/cib.sqlite3"
        return
    url = await _create_database(base)
    try:
        yield url
    finally:
        await _drop_database(base, url)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database, whatever the suite's default. Skips on a machine with
    no server; in CI (CI=true) a missing server is a failure, not a skip."""
    base = os.environ.get(PG_ENV, PG_DEFAULT)
    reason = await postgres_reachable(base)
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    url = await _create_database(base)
    try:
        yield url
    finally:
        await _drop_database(base, url)


@dataclass
class Relay:
    """A real SMTP server on loopback that keeps every message it is given."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    fail_next: int = 0  # answer this many DATA commands with 451
    refuse_next: int = 0  # answer this many DATA commands with 550 (a permanent refusal)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.fail_next:
            self.fail_next -= 1
            return "451 4.3.0 relay busy"
        if self.refuse_next:
            self.refuse_next -= 1
            return "550 5.1.1 mailbox unavailable"
        data = envelope.original_content or envelope.content
        self.messages.append(message_from_bytes(data, policy=policy.default))  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.arrived.set()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


@asynccontextmanager
async def serving_smtp(handler: Any) -> AsyncIterator[Any]:
    """`handler` (an aiosmtpd handler with a `port`) served on a free loopback port."""
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(handler), host="127.0.0.1", port=0)
    handler.port = server.sockets[0].getsockname()[1]
    try:
        yield handler
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    async with serving_smtp(Relay()) as relay:
        yield relay


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: str | datetime) -> None:
        self.now = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        if self.now.tzinfo is None:
            self.now = self.now.replace(tzinfo=timezone.utc)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2027, 4, 1, 10, 0, tzinfo=timezone.utc))


@pytest.fixture
def settings_factory(database_url: str, tmp_path: Path, relay: Relay) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = dict(
            database_url=database_url,
            smtp_host="127.0.0.1",
            smtp_port=0,
            http_host="127.0.0.1",
            http_port=0,
            relay_host="127.0.0.1",
            relay_port=relay.port,
            outbox_dir=tmp_path / "outbox",
            intake_addresses=["eoi@cib.test"],
            from_address="CIB intake <eoi@cib.test>",
            team_emails=["team@local.gov.uk"],
            scheduler_enabled=False,
            authserv_id=["mx.cib.test"],  # behind a border server that checks senders (tests/mailer.py)
        )
        values.update(overrides)
        return Settings(_env_file=None, **values)  # a developer's .env does not change the tests

    return make


@pytest.fixture
async def runtime(settings_factory: Callable[..., Settings], clock: Clock) -> AsyncIterator[Runtime]:
    runtime = create_service(settings_factory(), clock=clock)
    await runtime.start(slack=False, scheduler=False)
    try:
        yield runtime
    finally:
        await runtime.stop()
