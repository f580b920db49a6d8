"""Changes held for the contact on record to confirm, each with its one-time token."""
from __future__ import annotations

from sqlalchemy import select

from intake.models import Confirmation
from intake.store.repository import Repository


class ConfirmationRepository(Repository):
    async def by_token(self, token: str) -> Confirmation | None:
        return await self.session.scalar(select(Confirmation).where(Confirmation.token == token))

    async def for_inbound(self, inbound_id: int) -> list[Confirmation]:
        """Every confirmation asked for the changes in one held message, oldest first."""
        query = select(Confirmation).where(Confirmation.inbound_id == inbound_id).order_by(Confirmation.id)
        return list(await self.session.scalars(query))

    async def pending(self) -> list[Confirmation]:
        """Changes still waiting for their contact, lapsed or not, oldest first."""
        query = select(Confirmation).where(Confirmation.status == "pending").order_by(Confirmation.id)
        return list(await self.session.scalars(query))
