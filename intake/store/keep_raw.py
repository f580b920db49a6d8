"""Keeping raw messages: the first thing that happens to any message, before a channel
answers (SMTP's 250, Slack's ack).

Messages arriving together are committed together (one fsync for the group), so many
senders at once do not queue behind each other's disk writes. On SQLite the batch goes
through a synchronous engine on a thread of its own; elsewhere through the async engine.

One message never fails others: when a group's commit fails, each of its messages is
committed alone. One the database refuses even alone, for what is in it, is `Unkeepable`:
the channel refuses it for good with the reason (asking for it again would only fail
again), and it is counted. A failure of the database itself (unreachable, busy) is
raised as it is, and the channel asks for the message again later.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from intake.messages import Kept
from intake.models import InboundMessage

log = logging.getLogger(__name__)

BATCH = 500  # rows per transaction
# PostgreSQL's classes of error that are about the row, not the database's state: data
# exception, integrity constraint violation, program limit exceeded (too big to index).
ROW_FAULTS = ("22", "23", "54")
# Lone commits that fail in a row, not for what their message holds, before the database
# is taken to be away and the rest of the group is answered alike without trying.
AWAY_AFTER = 2


class Unkeepable(Exception):
    """The database will not take this message, even in a commit of its own, for what is
    in it; `reason` says why, in words fit to tell its sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def row_fault(error: BaseException) -> str | None:
    """Why the database refused a row for what is in it, or None when the failure is the
    database's own state (unreachable, timed out, locked): worth trying again."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(code, str) and code[:2] in ROW_FAULTS:
            return f"the database refused its content (SQLSTATE {code})"
        if isinstance(cause, (sqlite3.DataError, sqlite3.IntegrityError)):
            return f"the database refused its content ({type(cause).__name__})"
        if isinstance(cause, (ValueError, TypeError)) and not isinstance(cause, DBAPIError):
            return f"its content cannot be written to the database ({type(cause).__name__})"
        cause = getattr(cause, "orig", None) or cause.__cause__
    return None


class Keeper:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        keep_engine: Engine | None,
        writing: Callable[[], AbstractAsyncContextManager[None]],
    ) -> None:
        self.engine = engine
        self.keep_engine = keep_engine
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="keep") if keep_engine else None
        self._writing = writing
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[Kept]]] = []
        self._task: asyncio.Task[None] | None = None
        self._last_kept = float("-inf")
        self.refused: Counter[str] = Counter()  # messages refused for good, by channel

    async def keep(self, row: dict[str, Any]) -> Kept:
        future: asyncio.Future[Kept] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._batches())
        return await future

    @property
    def busy(self) -> bool:
        """True while messages are arriving (being kept, or kept in the last tenth of a
        second: senders waiting for a 250 send their next message at once)."""
        if self._waiting or (self._task is not None and not self._task.done()):
            return True
        return time.monotonic() - self._last_kept < 0.1

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._thread is not None and self.keep_engine is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self.keep_engine.dispose)
            self._thread.shutdown()
            self._thread = None

    async def _batches(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            results = await self._settle([row for row, _ in batch])
            self._last_kept = time.monotonic()
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _settle(self, rows: list[dict[str, Any]]) -> list[Kept | BaseException]:
        """The group in one commit; if that fails, each message alone."""
        try:
            return [*await self._keep_batch(rows)]
        except Exception as error:  # noqa: BLE001 - each sender is told (451 or 554), none hangs
            if len(rows) == 1 and not isinstance(error, IntegrityError):
                return [self._verdict(rows[0], error)]  # it was alone already
            return await self._one_by_one(rows)

    async def _one_by_one(self, rows: list[dict[str, Any]]) -> list[Kept | BaseException]:
        """Each message in a commit of its own, so that one the database refuses fails no
        other; once lone commits keep failing for no fault of their messages, the
        database is away and the rest are answered alike."""
        results: list[Kept | BaseException] = []
        away = 0  # lone commits failed in a row, not for their messages
        for row in rows:
            result = results[-1] if away >= AWAY_AFTER else await self._alone(row)
            away = away + 1 if isinstance(result, BaseException) and not isinstance(result, Unkeepable) else 0
            results.append(result)
        return results

    async def _alone(self, row: dict[str, Any]) -> Kept | BaseException:
        try:
            return (await self._keep_batch([row]))[0]
        except IntegrityError:
            pass  # raced with another process on the same message: it is there now
        except Exception as error:  # noqa: BLE001
            return self._verdict(row, error)
        try:
            return (await self._keep_batch([row]))[0]
        except Exception as error:  # noqa: BLE001
            return self._verdict(row, error)

    def _verdict(self, row: dict[str, Any], error: Exception) -> BaseException:
        """A lone message's failure: `Unkeepable` if the database refused what is in it
        (counted, and logged without its content), else the error as it is."""
        reason = row_fault(error)
        if reason is None:
            return error
        self.refused[row["channel"]] += 1
        log.warning("a %s message of %s bytes could not be kept and is refused: %s (%s)", row["channel"],
                    len(row.get("raw") or b""), reason, type(error).__name__)
        return Unkeepable(reason)

    async def _keep_batch(self, rows: list[dict[str, Any]]) -> list[Kept]:
        async with self._writing():
            if self._thread is not None:
                return await asyncio.get_running_loop().run_in_executor(self._thread, self._on_thread, rows)
            async with self.engine.begin() as connection:
                return await connection.run_sync(keep_rows, rows)

    # Only ever run on the keeping thread, which exists only with a keep engine.
    def _on_thread(self, rows: list[dict[str, Any]]) -> list[Kept]:
        assert self.keep_engine is not None
        with self.keep_engine.begin() as connection:
            return keep_rows(connection, rows)


def keep_rows(connection: Connection, rows: list[dict[str, Any]]) -> list[Kept]:
    """Insert the rows not kept before. A fixed handful of statements however many rows:
    which are known already, one executemany, then the new ids (RETURNING with
    executemany would go row by row on SQLite)."""
    known = _known_inbound(connection, rows)
    without_id: dict[int, int] = {}  # row index -> its new id
    fresh: dict[tuple[str, str], int] = {}  # a key not kept before -> the first row with it
    for n, r in enumerate(rows):
        if r["external_id"] is None:
            # Nothing to look it up by afterwards: this one needs its own insert.
            without_id[n] = connection.execute(insert(InboundMessage).returning(InboundMessage.id), r).scalar_one()
        elif (key := (r["channel"], r["external_id"])) not in known:
            fresh.setdefault(key, n)
    if fresh:
        inserted = [rows[n] for n in fresh.values()]
        connection.execute(insert(InboundMessage), inserted)
        known.update(_known_inbound(connection, inserted))
    new = {*without_id, *fresh.values()}
    return [
        Kept(without_id[n] if n in without_id else known[(r["channel"], r["external_id"])], n not in new)
        for n, r in enumerate(rows)
    ]


def _known_inbound(connection: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    wanted = {(r["channel"], r["external_id"]) for r in rows if r["external_id"] is not None}
    known: dict[tuple[str, str], int] = {}
    for channel in {c for c, _ in wanted}:
        ids = [e for c, e in wanted if c == channel]
        found = connection.execute(
            select(InboundMessage.external_id, InboundMessage.id).where(
                InboundMessage.channel == channel, InboundMessage.external_id.in_(ids)
            )
        )
        known.update({(channel, e): i for e, i in found})
    return known
