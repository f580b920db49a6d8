"""Which instance runs the scheduled jobs: the one holding a PostgreSQL session advisory
lock, on a connection of its own kept open. SQLite is one process: always granted."""
from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from intake.store.store import Store

# One 64-bit advisory lock key for "the instance that runs the jobs" (per database).
LOCK_KEY = int.from_bytes(hashlib.sha256(b"cib-intake:scheduler").digest()[:8], "big", signed=True)


class Leadership:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.connection: AsyncConnection | None = None
        self.shared = store.dialect == "postgresql"

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
        return got

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
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                await connection.close()
            except Exception:  # noqa: BLE001
                await connection.invalidate()
