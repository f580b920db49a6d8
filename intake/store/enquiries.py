"""Free-text messages that are none of the other kinds: questions for the team."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from intake.models import Enquiry
from intake.store.repository import Repository


class EnquiryRepository(Repository):
    async def from_inbound(self, inbound_id: int) -> Enquiry | None:
        return await self.session.scalar(select(Enquiry).where(Enquiry.inbound_id == inbound_id))

    async def get(self, enquiry_id: int) -> Enquiry | None:
        return await self.session.get(Enquiry, enquiry_id)

    async def all(self, *, since: datetime | None = None) -> list[Enquiry]:
        query = select(Enquiry).order_by(Enquiry.id)
        if since:
            query = query.where(Enquiry.received_at > since)
        return list(await self.session.scalars(query))
