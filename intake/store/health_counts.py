"""What operating the service needs to read: whether the database answers, the offer keys
rows refer to, and the totals behind /healthz and /metrics (counted in the database, so
they hold across restarts and across instances)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text

from intake.models import IncompleteSubmission, InboundMessage, OutboundMessage, Submission
from intake.store.repository import Repository


class OperationsRepository(Repository):
    async def ping(self) -> None:
        await self.session.execute(text("SELECT 1"))

    async def offer_keys(self) -> dict[str, int]:
        """Every offer key a submission or a draft refers to, with how many do."""
        found: dict[str, int] = {}
        for table in (Submission, IncompleteSubmission):
            rows = await self.session.execute(select(table.offer, func.count()).group_by(table.offer))
            for offer, count in rows:
                found[offer] = found.get(offer, 0) + int(count)
        return found

    async def inbound_totals(self) -> list[tuple[str, str, str, int]]:
        """(channel, status, classification, count) of every message kept."""
        rows = await self.session.execute(
            select(InboundMessage.channel, InboundMessage.status, InboundMessage.classification, func.count())
            .group_by(InboundMessage.channel, InboundMessage.status, InboundMessage.classification)
        )
        return [(channel, status, classification or "", int(count)) for channel, status, classification, count in rows]

    async def outbound_totals(self) -> list[tuple[str, str, str, int]]:
        """(channel, kind, status, count) of everything recorded to send."""
        rows = await self.session.execute(
            select(OutboundMessage.channel, OutboundMessage.kind, OutboundMessage.status, func.count())
            .group_by(OutboundMessage.channel, OutboundMessage.kind, OutboundMessage.status)
        )
        return [(channel, kind, status, int(count)) for channel, kind, status, count in rows]

    async def waiting(self) -> tuple[int, int, datetime | None]:
        """(messages kept and not yet processed, sends due or in hand, the oldest of those kept)."""
        unprocessed = await self.session.scalar(
            select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "received")
        )
        oldest = await self.session.scalar(
            select(InboundMessage.received_at).where(InboundMessage.status == "received")
            .order_by(InboundMessage.received_at).limit(1)
        )
        unsent = await self.session.scalar(
            select(func.count()).select_from(OutboundMessage)
            .where(OutboundMessage.status.in_(("pending", "sending")))
        )
        return int(unprocessed or 0), int(unsent or 0), oldest
