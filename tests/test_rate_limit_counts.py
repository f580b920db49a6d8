"""The rate limits' counts (`InboundRepository.counts_since`), one query for everyone's
windows and the sender's, checked against counting by hand on generated messages, on the
suite's database."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete

from intake.models import InboundMessage
from intake.store import Store

START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
SENDERS = ["jane.smith@camden.gov.uk", "sam.lee@hull.gov.uk", None]

messages = st.lists(
    st.tuples(st.sampled_from(["email", "slack"]), st.sampled_from(SENDERS), st.integers(0, 7200)), max_size=30
)
seconds = st.lists(st.integers(0, 7200), max_size=3)


async def _counts(url: str, rows: list[tuple[str, str | None, int]], everyone: list[int], theirs: list[int],
                  sender: str | None, before: int) -> tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]]:
    store = Store.from_url(url)
    try:
        await store.create_all()
        async with store.unit() as unit:
            await unit.session.execute(delete(InboundMessage))
            kept = [
                InboundMessage(channel=channel, external_id=f"<{n}@test>", sender=who, subject="", raw=b"", meta={},
                               received_at=START + timedelta(seconds=at), status="processed")
                for n, (channel, who, at) in enumerate(rows)
            ]
            unit.session.add_all(kept)
            await unit.session.flush()
            ids = [row.id for row in kept]
        before_id = ids[before % len(ids)] if ids else 1
        moments = [START + timedelta(seconds=s) for s in everyone]
        mine = [START + timedelta(seconds=s) for s in theirs]
        async with store.reader() as unit:
            counted = await unit.inbound.counts_since(moments, before_id=before_id, channel="email",
                                                      sender=sender, sender_moments=mine)
    finally:
        await store.close()

    def by_hand(since: datetime, who: str | None) -> int:
        return sum(
            1 for row_id, (channel, from_, at) in zip(ids, rows)
            if channel == "email" and row_id < before_id and START + timedelta(seconds=at) >= since
            and (who is None or from_ == who)
        )

    expected = ([by_hand(m, None) for m in moments], [by_hand(m, sender) for m in mine] if sender else [])
    return counted, expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=messages, everyone=seconds, theirs=seconds, sender=st.sampled_from(SENDERS), before=st.integers(0, 40))
def test_the_counts_are_the_messages_in_each_window(database_url: str, rows, everyone, theirs, sender, before) -> None:
    counted, expected = asyncio.run(_counts(database_url, rows, everyone, theirs, sender, before))
    assert counted == expected
