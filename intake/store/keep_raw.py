"""Keeping raw messages: the first thing that happens to any message, before a channel
answers (SMTP's 250, Slack's ack).

Messages arriving together are committed together (one fsync for the group), so many
senders at once do not queue behind each other's disk writes. On SQLite the batch goes
through a synchronous engine on a thread of its own; elsewhere through the async engine.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from intake.messages import Kept
from intake.models import InboundMessage

BATCH = 500  # rows per transaction


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
            results: list[Kept | BaseException]
            try:
                results = [*await self._keep_batch([row for row, _ in batch])]
            except IntegrityError:
                # Raced with another process on the same message: settle them one by one.
                results = []
                for row, _ in batch:
                    try:
                        results.append((await self._keep_batch([row]))[0])
                    except Exception as error:  # noqa: BLE001
                        results.append(error)
            except Exception as error:  # noqa: BLE001 - each sender is told (451), none hangs
                results = [error] * len(batch)
            self._last_kept = time.monotonic()
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

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
