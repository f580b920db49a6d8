"""The database: `keep_inbound` commits a raw message in its own transaction (the first
thing that happens to any message); everything after that runs inside `unit()`, one
transaction per use case, or `reader()` for what only reads."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from intake.messages import Kept
from intake.models import Base
from intake.store import kept_fields
from intake.store.engine import Timeouts, create_engine, create_keep_engine, is_sqlite
from intake.store.keep_raw import Keeper
from intake.store.unit import Unit
from intake.store.writer_lock import WriterLock


class Store:
    def __init__(self, engine: AsyncEngine, *, keep_engine: Engine | None = None) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer at a time: queue our own writers here rather than have
        # them spin on "database is locked". PostgreSQL needs no such queue.
        self._writer = WriterLock() if engine.dialect.name == "sqlite" else None
        self.keeper = Keeper(engine, keep_engine=keep_engine, writing=lambda: self._writing(urgent=True))

    @classmethod
    def from_url(cls, url: str, *, timeouts: Timeouts = Timeouts()) -> Store:
        if is_sqlite(url):
            # Only keeping a raw message must reach the disk before we answer: it is the
            # promise behind SMTP's 250. Everything after it can be redone from the kept
            # message (a message still "received" is processed again at start), so those
            # commits skip the fsync (WAL, synchronous=NORMAL: safe against a crash of
            # the process; the machine losing power rolls back to the last kept state).
            return cls(create_engine(url, synchronous="NORMAL"), keep_engine=create_keep_engine(url))
        return cls(create_engine(url, timeouts=timeouts))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def _writing(self, *, urgent: bool = False) -> AsyncIterator[None]:
        if self._writer is None:
            yield
            return
        async with self._writer.hold(urgent=urgent):
            yield

    async def create_all(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)

    async def close(self) -> None:
        await self.keeper.close()
        await self.engine.dispose()

    async def keep_inbound(
        self,
        *,
        channel: str,
        external_id: str | None,
        sender: str | None,
        subject: str,
        raw: bytes,
        meta: dict[str, Any],
        received_at: datetime,
    ) -> Kept:
        """Commit the raw message; the same (channel, external_id) again is a duplicate.
        Every field is bounded and cleaned for the database (`kept_fields.py`); the raw
        bytes are kept as they came. `Unkeepable` if the database still will not take it."""
        return await self.keeper.keep(
            {
                "channel": channel,
                "external_id": kept_fields.identity(external_id),
                "sender": kept_fields.address(sender),
                "subject": kept_fields.subject(subject),
                "raw": raw,
                "meta": kept_fields.json_value(meta),
                "received_at": received_at,
                "status": "received",
            }
        )

    @property
    def refused(self) -> dict[str, int]:
        """Messages refused for good since this process started, by channel: the
        database would not take them even alone (none are in it to count there)."""
        return dict(self.keeper.refused)

    @property
    def keeping(self) -> bool:
        """True while messages are arriving: other writers should step aside."""
        return self.keeper.busy

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self._writing(), self.sessions.begin() as session:
            yield Unit(session)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Unit]:
        async with self.sessions() as session:
            yield Unit(session)
