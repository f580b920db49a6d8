"""The inbound table: every message as it arrived, and what became of it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, select
from sqlalchemy.orm import defer

from intake.models import InboundMessage
from intake.store.repository import Repository

RETRIES = 8  # failed this often, a message waits for a person (the workspace lists it)
# Summaries never read the message itself: loading it would be a mistake, so it raises.
_WITHOUT_RAW = defer(InboundMessage.raw, raiseload=True)


class InboundRepository(Repository):
    async def get(self, inbound_id: int) -> InboundMessage | None:
        return await self.session.get(InboundMessage, inbound_id)

    async def ids(self, *, status: str | None = None) -> list[int]:
        query = select(InboundMessage.id).order_by(InboundMessage.id)
        if status:
            query = query.where(InboundMessage.status == status)
        return list(await self.session.scalars(query))

    async def classifications(self, ids: list[int]) -> dict[int, str | None]:
        rows = await self.session.execute(
            select(InboundMessage.id, InboundMessage.classification).where(InboundMessage.id.in_(ids))
        )
        return {inbound_id: classification for inbound_id, classification in rows}

    async def needing_attention(self) -> list[InboundMessage]:
        """Messages still waiting or failed, without their raw bytes (summaries only)."""
        query = (
            select(InboundMessage)
            .options(_WITHOUT_RAW)
            .where(InboundMessage.status.in_(("failed", "received")))
            .order_by(InboundMessage.id)
        )
        return list(await self.session.scalars(query))

    async def to_retry(self, now: datetime, *, stuck_after: timedelta) -> list[tuple[int, bool]]:
        """(id, again) of messages to process now: kept but still not processed a while
        after they arrived (a fault stopped them), and failed ones whose backoff is over
        (a minute, doubling, at most an hour; after eight failures a person looks)."""
        received = await self.session.scalars(
            select(InboundMessage.id).where(
                InboundMessage.status == "received", InboundMessage.received_at < now - stuck_after
            ).order_by(InboundMessage.id)
        )
        found = [(inbound_id, False) for inbound_id in received]
        failed = await self.session.execute(
            select(InboundMessage.id, InboundMessage.processed_at, InboundMessage.meta)
            .where(InboundMessage.status == "failed").order_by(InboundMessage.id)
        )
        for inbound_id, processed_at, meta in failed:
            failures = int((meta or {}).get("failures", 1))
            wait = min(timedelta(minutes=1) * 2 ** (failures - 1), timedelta(hours=1))
            if failures < RETRIES and (processed_at is None or processed_at + wait <= now):
                found.append((inbound_id, True))
        return found

    async def bounces(self) -> list[InboundMessage]:
        """Machines' mail not yet handled that says our mail did not arrive."""
        query = select(InboundMessage).where(
            InboundMessage.status == "ignored", InboundMessage.classification == "automatic",
            InboundMessage.detail.in_(("delivery status notification", "null return path")),
        )
        return list(await self.session.scalars(query.order_by(InboundMessage.id)))

    async def claim(self, inbound_id: int) -> InboundMessage | None:
        """Lock a message for processing (on PostgreSQL a second worker gets None)."""
        query = _CLAIM_SKIPPING_LOCKED if self.dialect == "postgresql" else _CLAIM
        return await self.session.scalar(query, {"id": inbound_id})

    @staticmethod
    def mark(
        inbound: InboundMessage, *, status: str, classification: str | None, detail: str | None, at: datetime
    ) -> None:
        inbound.status = status
        inbound.classification = classification
        inbound.detail = detail
        inbound.processed_at = at

    async def authentications(self, ids: Sequence[int]) -> dict[int, dict[str, Any] | None]:
        """The sender authentication kept with each of these messages."""
        if not ids:
            return {}
        query = select(InboundMessage.id, InboundMessage.authentication).where(InboundMessage.id.in_(list(set(ids))))
        return {row.id: row.authentication for row in await self.session.execute(query)}

    async def since(self, since: datetime | None) -> list[InboundMessage]:
        """Messages received after `since`, for counting and listing: without their raw
        bytes, which a day of a campaign makes megabytes of."""
        query = select(InboundMessage).options(_WITHOUT_RAW).order_by(InboundMessage.id)
        if since:
            query = query.where(InboundMessage.received_at > since)
        return list(await self.session.scalars(query))

    async def counts_since(
        self, moments: Sequence[datetime], *, before_id: int, channel: str,
        sender: str | None = None, sender_moments: Sequence[datetime] = (),
    ) -> tuple[list[int], list[int]]:
        """For each of `moments`, the messages on `channel` received since then and kept
        before message `before_id`; for each of `sender_moments`, those of them from
        `sender`. One query for them all."""
        mine = list(sender_moments) if sender else []
        if not moments and not mine:
            return [], []
        query = _counts_query(len(moments), len(mine))
        values = {f"m{n}": m for n, m in enumerate([*moments, *mine])}
        values.update(channel=channel, before=before_id, since=min(values.values()), sender=sender)
        counts = [int(n) for n in (await self.session.execute(query, values)).one()]
        return counts[: len(moments)], counts[len(moments):]

    async def sender_history(self) -> list[tuple[str, datetime, dict[str, Any] | None]]:
        """(sender, received at, authentication) of every message a person sent, oldest
        first: who wrote for a council most recently, and whether it was proven."""
        query = (
            select(InboundMessage.sender, InboundMessage.received_at, InboundMessage.authentication)
            .where(InboundMessage.sender.is_not(None), InboundMessage.status != "ignored")
            .order_by(InboundMessage.received_at, InboundMessage.id)
        )
        return [(row[0], row[1], row[2]) for row in await self.session.execute(query) if row[0]]

    async def senders(self, *, until: datetime | None = None) -> list[str]:
        """Every distinct address that has sent us anything (by `until`)."""
        query = select(InboundMessage.sender).where(InboundMessage.sender.is_not(None))
        if until is not None:
            query = query.where(InboundMessage.received_at <= until)
        rows = await self.session.scalars(query.distinct())
        return [row for row in rows if row]


# Statements every message runs, made once (docs/architecture.md, the store).
_CLAIM = select(InboundMessage).where(InboundMessage.id == bindparam("id"))
_CLAIM_SKIPPING_LOCKED = _CLAIM.with_for_update(skip_locked=True)


@lru_cache(maxsize=32)
def _counts_query(everyone: int, theirs: int) -> Select[Any]:
    """`counts_since`'s query for so many moments, made once per shape."""
    at, who = InboundMessage.received_at, InboundMessage.sender
    moment = [bindparam(f"m{n}", type_=at.type) for n in range(everyone + theirs)]
    sender = bindparam("sender", type_=who.type)
    columns = [at >= m for m in moment[:everyone]] + [and_(at >= m, who == sender) for m in moment[everyone:]]
    query = select(*(func.coalesce(func.sum(case((c, 1), else_=0)), 0) for c in columns)).where(
        InboundMessage.channel == bindparam("channel"),
        at >= bindparam("since", type_=at.type),
        InboundMessage.id < bindparam("before"),
    )
    return query if everyone else query.where(who == sender)  # the sender's alone: by the sender index
