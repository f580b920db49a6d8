"""Incomplete submissions: kept until a follow-up from the sender completes them."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select

from intake.models import IncompleteSubmission, OutboundMessage
from intake.store.repository import Repository


class DraftRepository(Repository):
    async def from_inbound(self, inbound_id: int, offer: str) -> IncompleteSubmission | None:
        return await self.session.scalar(
            select(IncompleteSubmission).where(
                IncompleteSubmission.inbound_id == inbound_id, IncompleteSubmission.offer == offer
            )
        )

    async def all_open(self) -> list[IncompleteSubmission]:
        query = select(IncompleteSubmission).where(IncompleteSubmission.status == "open")
        return list(await self.session.scalars(query.order_by(IncompleteSubmission.id)))

    async def open(self, sender: str, *, before_inbound: int | None = None) -> list[IncompleteSubmission]:
        if before_inbound is None:
            return list(await self.session.scalars(_OPEN, {"sender": sender}))
        return list(await self.session.scalars(_OPEN_BEFORE, {"sender": sender, "before": before_inbound}))

    async def answered_by(self, message_ids: Sequence[str]) -> list[IncompleteSubmission]:
        """Open drafts whose "what's missing" reply is one of `message_ids` (the reply and
        the draft come from the same inbound message)."""
        if not message_ids:
            return []
        replied_to = select(OutboundMessage.inbound_id).where(OutboundMessage.message_id.in_(list(message_ids)))
        query = (
            select(IncompleteSubmission)
            .where(IncompleteSubmission.inbound_id.in_(replied_to), IncompleteSubmission.status == "open")
            .order_by(IncompleteSubmission.id)
        )
        return list(await self.session.scalars(query))


# Every message from a sender runs `open`: made once (docs/architecture.md, the store).
_OPEN = (
    select(IncompleteSubmission)
    .where(IncompleteSubmission.sender == bindparam("sender"), IncompleteSubmission.status == "open")
    .order_by(IncompleteSubmission.id.desc())
)
_OPEN_BEFORE = _OPEN.where(IncompleteSubmission.inbound_id < bindparam("before"))
