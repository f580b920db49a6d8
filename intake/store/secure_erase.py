"""Erased bytes must not linger in the database's own files (after an erasure, or the
retention period's removals).

SQLite: the erasing transaction runs with `PRAGMA secure_delete` (what it deletes is
overwritten with zeros, `PersonalDataRepository.secure_delete`); afterwards the WAL is
checkpointed into the database and truncated, and the files are searched for what was
erased. Still found (a copy left in free space by an earlier change of the same row, say),
or with free pages left at all, the database is rebuilt with VACUUM and searched again.

PostgreSQL: a deleted or rewritten row stays in its table's files as a dead tuple until
VACUUM marks its space free and later writes reuse it; VACUUM runs on the tables touched
(the bytes may stay in free space, the WAL and backups: the docs say so)."""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from intake.store.store import Store

log = logging.getLogger(__name__)

CHUNK = 1 << 22  # bytes of the file searched at a time
OVERLAP = 4096  # kept from the chunk before, so nothing is missed across the seam


@dataclass(frozen=True)
class Settled:
    """What became of the database's files after an erasure."""

    checkpointed: bool = False  # SQLite: the WAL was emptied into the database and truncated
    vacuumed: bool = False  # SQLite: rebuilt; PostgreSQL: the touched tables vacuumed
    searched: bool = False  # SQLite: the files were searched for what was erased
    lingering: tuple[str, ...] = ()  # kinds of identifier still found there ("address", "name")


async def settle(
    store: Store, patterns: Sequence[tuple[str, re.Pattern[bytes]]], *, tables: Collection[str] = ()
) -> Settled:
    """Make the removal final in the files: SQLite checkpoints, searches and vacuums if
    needed; PostgreSQL vacuums `tables`."""
    if store.dialect == "sqlite":
        return await _settle_sqlite(store, patterns)
    if store.dialect == "postgresql" and tables:
        try:
            async with store.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                for table in sorted(tables):
                    await autocommit.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
        except DBAPIError as error:  # not the tables' owner, say: the removal stands, autovacuum follows
            log.warning("VACUUM after a removal of personal data failed: %s", type(error).__name__)
            return Settled()
        return Settled(vacuumed=True)
    return Settled()


async def _settle_sqlite(store: Store, patterns: Sequence[tuple[str, re.Pattern[bytes]]]) -> Settled:
    database = store.engine.url.database
    if not database or database == ":memory:":
        return Settled()
    files = [Path(database), Path(database + "-wal")]
    # Our own writers wait while the file is rewritten (another process's wait on the lock).
    async with store._writing():  # the store's own queue of writers (this package's)
        checkpointed = await _checkpoint(store)
        lingering = await asyncio.to_thread(search, files, patterns)
        vacuumed = False
        if lingering or await _sql(store, "PRAGMA freelist_count") not in (0, None):
            try:
                await _sql(store, "VACUUM")
                vacuumed = True
            except DBAPIError as error:  # another process writing for longer than the busy timeout
                log.warning("VACUUM after a removal of personal data failed: %s", type(error).__name__)
            checkpointed = await _checkpoint(store)
            lingering = await asyncio.to_thread(search, files, patterns)
    return Settled(checkpointed=checkpointed, vacuumed=vacuumed, searched=True, lingering=tuple(lingering))


async def _checkpoint(store: Store) -> bool:
    """True when every frame of the WAL reached the database and the WAL is empty (a
    reader in another process can hold it back; then the next checkpoint finishes it)."""
    async with store.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        row = (await autocommit.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
    return row is not None and row[0] == 0


async def _sql(store: Store, statement: str) -> Any:
    async with store.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        result = await autocommit.exec_driver_sql(statement)
        row = result.first() if result.returns_rows else None
    return row[0] if row is not None else None


def search(files: Sequence[Path], patterns: Sequence[tuple[str, re.Pattern[bytes]]]) -> list[str]:
    """The kinds of identifier found in these files' bytes."""
    found: set[str] = set()
    for path in files:
        if not path.exists():
            continue
        with path.open("rb") as handle:
            tail = b""
            while chunk := handle.read(CHUNK):
                window = tail + chunk
                found |= {kind for kind, pattern in patterns if kind not in found and pattern.search(window)}
                tail = window[-OVERLAP:]
    return sorted(found)
