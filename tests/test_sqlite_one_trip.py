"""SQLite's statements through `intake/store/sqlite_one_trip.py`: each one trip to the
connection's thread, with what SQLAlchemy reads back (rows, rowcount, the new row's id,
errors) as aiosqlite's own cursor gives it."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import aiosqlite.core
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from intake.models import Counter as CounterRow, InboundMessage
from intake.store import Store


@pytest.fixture
async def store(tmp_path: Path):
    store = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'trip.sqlite3'}")
    await store.create_all()
    yield store
    await store.close()


def _inbound(n: int) -> InboundMessage:
    return InboundMessage(channel="email", external_id=f"<{n}@x>", sender=f"a{n}@camden.gov.uk", subject="s",
                          raw=b"raw", meta={}, received_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
                          status="received")


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    seen: Counter[str] = Counter()
    real = aiosqlite.core.Connection._execute

    async def counted(self, fn, *args, **kwargs):  # noqa: ANN001, ANN202
        seen["all"] += 1
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    return seen


async def test_a_select_an_insert_and_an_update_each_take_one_trip(store: Store, trips: Counter[str]) -> None:
    async with store.unit() as unit:
        before = trips["all"]
        unit.session.add(_inbound(1))
        await unit.session.flush()
        assert trips["all"] - before == 1
        before = trips["all"]
        rows = (await unit.session.execute(select(InboundMessage.id, InboundMessage.sender))).all()
        assert trips["all"] - before == 1
        assert [tuple(row) for row in rows] == [(1, "a1@camden.gov.uk")]
        before = trips["all"]
        changed = await unit.session.execute(update(InboundMessage).values(status="processed"))
        assert trips["all"] - before == 1 and changed.rowcount == 1


async def test_rows_ids_and_counts_come_back_as_sqlalchemy_expects(store: Store) -> None:
    async with store.unit() as unit:
        rows = [_inbound(n) for n in range(5)]
        unit.session.add_all(rows)
        await unit.session.flush()
        assert [row.id for row in rows] == [1, 2, 3, 4, 5]  # the new rows' ids, read back
        changed = await unit.session.execute(
            update(InboundMessage).where(InboundMessage.id > 2).values(status="processed")
        )
        assert changed.rowcount == 3
        unit.session.add(CounterRow(name="PBR", value=0))
    async with store.reader() as unit:
        assert await unit.session.scalar(select(func.count()).select_from(InboundMessage)) == 5
        assert (await unit.session.execute(text("SELECT name, value FROM counters"))).all() == [("PBR", 0)]
        assert await unit.session.scalar(select(InboundMessage).where(InboundMessage.id == 99)) is None


async def test_a_refused_statement_raises_and_the_transaction_rolls_back(store: Store) -> None:
    with pytest.raises(IntegrityError):
        async with store.unit() as unit:
            unit.session.add(_inbound(1))
            await unit.session.flush()
            unit.session.add(_inbound(1))  # the same (channel, external_id)
            await unit.session.flush()
    async with store.reader() as unit:
        assert await unit.session.scalar(select(func.count()).select_from(InboundMessage)) == 0
