"""Submissions still missing something: kept until a follow-up completes them."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from intake.models import Draft, OutboundMessage
from intake.store.repository import Repository


class DraftRepository(Repository):
    async def get(self, draft_id: int) -> Draft | None:
        return await self.session.get(Draft, draft_id)

    async def from_inbound(self, inbound_id: int, offer: str) -> Draft | None:
        return await self.session.scalar(select(Draft).where(Draft.inbound_id == inbound_id, Draft.offer == offer))

    async def open(self, sender: str, *, before_inbound: int | None = None) -> list[Draft]:
        query = select(Draft).where(Draft.sender == sender, Draft.status == "open").order_by(Draft.id.desc())
        if before_inbound is not None:
            query = query.where(Draft.inbound_id < before_inbound)
        return list(await self.session.scalars(query))

    async def answered_by(self, message_ids: Sequence[str]) -> list[Draft]:
        """Open drafts whose "what's missing" reply is one of `message_ids` (the reply and
        the draft come from the same inbound message)."""
        if not message_ids:
            return []
        replied_to = select(OutboundMessage.inbound_id).where(OutboundMessage.message_id.in_(list(message_ids)))
        query = select(Draft).where(Draft.inbound_id.in_(replied_to), Draft.status == "open").order_by(Draft.id)
        return list(await self.session.scalars(query))
