"""aiosqlite connections whose statements each take one trip to the connection's thread.

SQLAlchemy's aiosqlite adapter asks aiosqlite for a cursor, executes, fetches and closes
it, each a separate trip to the thread that owns the SQLite connection (a queue put, a
wake-up of that thread, a wake-up of the event loop): four trips for a SELECT, three for
an INSERT. A message's recording runs about a dozen statements, each of which SQLite
itself answers in microseconds, so the trips were a good part of its cost. Here the
cursor SQLAlchemy is given does all four in one trip and hands back the rows, the
description, `rowcount` and `lastrowid` it read there; everything else (transactions,
the connection's life, errors) is aiosqlite's own.

It leans on aiosqlite's `Connection._execute` (how aiosqlite runs every call on its
thread); the version is pinned in requirements.lock and the whole suite runs on it.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url

Result = tuple[Any, list[Any], int | None, int]  # description, rows, lastrowid, rowcount


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> Result:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class OneTripCursor:
    """The part of aiosqlite's cursor SQLAlchemy's adapter uses; a result is read whole,
    in the trip that executed it (the adapter reads it whole anyway)."""

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.lastrowid: int | None = None
        self.rowcount = -1
        self._rows: list[Any] = []

    async def _trip(self, sql: str, parameters: Any, *, many: bool) -> OneTripCursor:
        connection = self._connection
        result: Result = await connection._execute(lambda: _run(connection._conn, sql, parameters, many))
        self.description, self._rows, self.lastrowid, self.rowcount = result
        return self

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        return await self._trip(sql, parameters, many=False)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneTripCursor:
        return await self._trip(sql, parameters, many=True)

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = len(self._rows) if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def close(self) -> None:
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    async def cursor(self) -> OneTripCursor:  # type: ignore[override] - no trip: nothing to open yet
        return OneTripCursor(self)


def connector(url: str, *, timeout: float) -> Callable[[], Awaitable[OneTripConnection]]:
    """`create_async_engine`'s `async_creator` for an SQLite URL: a `OneTripConnection`
    opened as SQLAlchemy would open it (the same file, URI and options), waiting up to
    `timeout` seconds for another connection's write lock."""
    args, options = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    options = {"timeout": timeout, **options}

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(lambda: sqlite3.connect(*args, **options), 64)
        connection._thread.daemon = True  # as SQLAlchemy does: a forgotten connection never holds up exit
        return await connection

    return connect
