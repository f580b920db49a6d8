"""The inbound table: every message as it arrived, and what became of it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from intake.models import InboundMessage
from intake.store.repository import Repository


class InboundRepository(Repository):
    async def get(self, inbound_id: int) -> InboundMessage | None:
        return await self.session.get(InboundMessage, inbound_id)

    async def ids(self, *, status: str | None = None) -> list[int]:
        query = select(InboundMessage.id).order_by(InboundMessage.id)
        if status:
            query = query.where(InboundMessage.status == status)
        return list(await self.session.scalars(query))

    async def needing_attention(self) -> list[InboundMessage]:
        query = (
            select(InboundMessage)
            .where(InboundMessage.status.in_(("failed", "received")))
            .order_by(InboundMessage.id)
        )
        return list(await self.session.scalars(query))

    async def claim(self, inbound_id: int) -> InboundMessage | None:
        """Lock a message for processing (on PostgreSQL a second worker gets None)."""
        query = select(InboundMessage).where(InboundMessage.id == inbound_id)
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return await self.session.scalar(query)

    @staticmethod
    def mark(
        inbound: InboundMessage, *, status: str, classification: str | None, detail: str | None, at: datetime
    ) -> None:
        inbound.status = status
        inbound.classification = classification
        inbound.detail = detail
        inbound.processed_at = at

    async def since(self, since: datetime | None) -> list[InboundMessage]:
        query = select(InboundMessage).order_by(InboundMessage.id)
        if since:
            query = query.where(InboundMessage.received_at > since)
        return list(await self.session.scalars(query))

    async def count_since(
        self, since: datetime, *, before_id: int, channel: str, sender: str | None = None
    ) -> int:
        """Messages on `channel` received since `since` and kept before message
        `before_id` (from `sender`, if given)."""
        query = select(func.count(InboundMessage.id)).where(
            InboundMessage.channel == channel, InboundMessage.received_at >= since, InboundMessage.id < before_id
        )
        if sender is not None:
            query = query.where(InboundMessage.sender == sender)
        return int(await self.session.scalar(query) or 0)

    async def senders(self, *, until: datetime | None = None) -> list[str]:
        """Every distinct address that has sent us anything (by `until`)."""
        query = select(InboundMessage.sender).where(InboundMessage.sender.is_not(None))
        if until is not None:
            query = query.where(InboundMessage.received_at <= until)
        rows = await self.session.scalars(query.distinct())
        return [row for row in rows if row]
