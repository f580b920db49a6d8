"""Which instance runs the scheduled jobs: the one holding a PostgreSQL session advisory
lock, on a connection of its own kept open. SQLite is one process: always granted.

The lock lives as long as its session, and a frozen process (SIGSTOP, a hung event loop)
keeps its session open for ever. So the holder's session has an `idle_session_timeout`
(the lease) and a heartbeat that queries well within it: a holder that stops beating is
cut off by the server when the lease runs out, and a standby takes the lock at its next
try."""
from __future__ import annotations

import asyncio
import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from intake.store.store import Store

# One 64-bit advisory lock key for "the instance that runs the jobs" (per database).
LOCK_KEY = int.from_bytes(hashlib.sha256(b"cib-intake:scheduler").digest()[:8], "big", signed=True)

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, store: Store, *, lease: float = 60.0) -> None:
        self.store = store
        self.connection: AsyncConnection | None = None
        self.shared = store.dialect == "postgresql"
        self.lease = lease  # seconds a silent holder keeps the lock
        self._beat: asyncio.Task[None] | None = None

    async def acquire(self) -> bool:
        if not self.shared:
            return True
        if self.connection is None:
            connection = await self.store.engine.connect()
            self.connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(await self.connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}))
        except Exception:
            await self._drop()
            raise
        if not got:
            # Keep no idle connection while another instance leads.
            await self._drop()
            return False
        await self.connection.execute(text(f"SET idle_session_timeout = {int(self.lease * 1000)}"))
        self._beat = asyncio.create_task(self._heartbeat(), name="scheduler-lock-heartbeat")
        return True

    async def _heartbeat(self) -> None:
        """Query three times a lease, so only a holder that has stopped loses the lock."""
        while self.connection is not None:
            await asyncio.sleep(self.lease / 3)
            try:
                if self.connection is not None:
                    await self.connection.scalar(text("SELECT 1"))
            except Exception as error:  # noqa: BLE001 - cut off: `held()` will say so
                log.warning("the scheduler lock's connection failed: %s", error)
                return

    async def held(self) -> bool:
        """Whether we still hold it: the lock lives exactly as long as its connection."""
        if not self.shared:
            return True
        if self.connection is None:
            return False
        try:
            await self.connection.scalar(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - a dead connection has lost the lock
            await self._drop()
            return False

    async def release(self) -> None:
        if self.connection is None:
            return
        try:
            await self.connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        except Exception:  # noqa: BLE001 - closing the connection releases it anyway
            pass
        await self._drop()

    async def _drop(self) -> None:
        beat, self._beat = self._beat, None
        if beat is not None and beat is not asyncio.current_task():
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                await connection.close()
            except Exception:  # noqa: BLE001
                await connection.invalidate()
