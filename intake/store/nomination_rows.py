"""Regional lead nominations: the current one per region and role, and those superseded."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from intake.models import Nomination
from intake.store.repository import Repository


class NominationRepository(Repository):
    async def all(
        self, *, region: str | None = None, current_only: bool = True, since: datetime | None = None
    ) -> list[Nomination]:
        query = select(Nomination).order_by(Nomination.id)
        if region:
            query = query.where(Nomination.region == region)
        if current_only:
            query = query.where(Nomination.current.is_(True))
        if since:
            query = query.where(Nomination.received_at > since)
        return list(await self.session.scalars(query))

    async def from_inbound(self, inbound_id: int) -> list[Nomination]:
        return list(await self.session.scalars(select(Nomination).where(Nomination.inbound_id == inbound_id)))

    async def by_reference(self, reference: str) -> list[Nomination]:
        return list(await self.session.scalars(select(Nomination).where(Nomination.reference == reference.upper())))

    async def supersede(self, region: str, role: str) -> None:
        await self.session.execute(
            update(Nomination)
            .where(Nomination.region == region, Nomination.role == role, Nomination.current.is_(True))
            .values(current=False)
        )
