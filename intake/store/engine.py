"""Database engines: the async engine every transaction uses and, on SQLite, the
synchronous engine raw messages are kept through (see `keep_raw.py`).

On PostgreSQL every wait is bounded: connecting, each statement, and waiting for a pooled
connection. A database that stops answering then fails each use within seconds (SMTP
answers 451, /healthz 503) instead of holding every sender and probe until TCP gives up."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from intake.store.pg_options import pg_options
from intake.store.sqlite_one_trip import connector


@dataclass(frozen=True)
class Timeouts:
    """Seconds: to connect (a URL's connect_timeout wins), for one statement, and to wait
    for a free connection from the pool."""

    connect: float = 5.0
    statement: float = 30.0
    pool: float = 10.0


SQLITE_LOCK_WAIT = 30  # seconds a connection waits for another's write lock


def _sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_WAIT * 1000}")
        cursor.close()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, synchronous: str = "FULL", timeouts: Timeouts = Timeouts()) -> AsyncEngine:
    """An async engine; on SQLite, WAL with the given synchronous setting (FULL: a commit
    survives a crash of the machine, not only of the process)."""
    if is_sqlite(url):
        # One trip to aiosqlite's thread per statement, not four (sqlite_one_trip.py).
        engine = create_async_engine(url, async_creator=connector(url, timeout=SQLITE_LOCK_WAIT))
        _sqlite_pragmas(engine.sync_engine, synchronous)
        return engine
    options = pg_options(url)
    connect_args = {"timeout": timeouts.connect, "command_timeout": timeouts.statement, **options.connect_args}
    return create_async_engine(options.url, connect_args=connect_args, pool_size=10, max_overflow=10,
                               pool_pre_ping=True, pool_timeout=timeouts.pool)


def create_keep_engine(url: str) -> Engine:
    """SQLite, synchronous=FULL, used from one thread of its own: a whole batch of kept
    messages is one hop to that thread, where aiosqlite would make a hop per call."""
    engine = create_sync_engine(make_url(url).set(drivername="sqlite"), connect_args={"timeout": SQLITE_LOCK_WAIT})
    _sqlite_pragmas(engine, "FULL")
    return engine
