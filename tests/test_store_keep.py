"""Keeping raw messages: many at once, duplicates within and across batches, messages with
nothing to recognise them by; and SQLite's writer queue letting keepers in first."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from intake.store import Store
from intake.store.writer_lock import WriterLock


def _keep(store: Store, external_id: str | None, channel: str = "email"):
    return store.keep_inbound(
        channel=channel,
        external_id=external_id,
        sender="officer@camden.gov.uk",
        subject="EOI",
        raw=f"Subject: EOI\r\n\r\n{external_id}\r\n".encode(),
        meta={"peer": "127.0.0.1"},
        received_at=datetime(2026, 5, 1, 9, tzinfo=UTC),
    )


async def test_a_burst_is_kept_once_each_with_duplicates_recognised(database_url):
    store = Store.from_url(database_url)
    await store.create_all()
    try:
        first = await _keep(store, "<early@camden.gov.uk>")
        ids = [f"<m{n}@camden.gov.uk>" for n in range(40)]
        # Arriving together: new ones, one already kept, one twice in the same burst,
        # the same id on another channel, and two with no id at all.
        burst = [*ids, "<early@camden.gov.uk>", "<m3@camden.gov.uk>", None, None]
        kept = await asyncio.gather(*(_keep(store, e) for e in burst), _keep(store, "<m5@camden.gov.uk>", "slack"))
        assert not first.duplicate and kept[40].duplicate and kept[40].id == first.id
        assert kept[41].duplicate and kept[41].id == kept[3].id
        assert not any(k.duplicate for k in kept[:40])
        assert kept[42].id != kept[43].id and not kept[42].duplicate and not kept[43].duplicate
        assert not kept[44].duplicate and kept[44].id != kept[5].id
        fresh = {k.id for k in kept if not k.duplicate} | {first.id}
        assert len(fresh) == 1 + 40 + 2 + 1
        async with store.reader() as unit:
            stored = await unit.inbound.ids()
            assert sorted(stored) == sorted(fresh)
            row = await unit.inbound.get(kept[7].id)
            assert row.external_id == "<m7@camden.gov.uk>" and row.raw.endswith(b"<m7@camden.gov.uk>\r\n")
            assert row.status == "received" and row.meta == {"peer": "127.0.0.1"}
    finally:
        await store.close()


async def test_waiting_keepers_go_before_other_writers():
    lock = WriterLock()
    order: list[str] = []

    async def writer(name: str, urgent: bool) -> None:
        async with lock.hold(urgent=urgent):
            order.append(name)
            await asyncio.sleep(0)

    async with lock.hold():
        tasks = [
            asyncio.create_task(writer("process-1", False)),
            asyncio.create_task(writer("process-2", False)),
            asyncio.create_task(writer("keep", True)),
        ]
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == ["keep", "process-1", "process-2"]
    assert not lock.locked


async def test_a_cancelled_waiter_neither_holds_nor_blocks_the_lock():
    lock = WriterLock()
    async with lock.hold():
        waiting = asyncio.create_task(lock.hold().__aenter__())
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        after = asyncio.create_task(asyncio.sleep(0))
        await after
    async with lock.hold(urgent=True):
        assert lock.locked
    assert not lock.locked
