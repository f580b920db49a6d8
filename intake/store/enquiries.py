"""Free-text messages that are none of the other kinds: questions for the team."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from intake.models import Enquiry, InboundMessage
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

    async def waiting(self) -> list[tuple[Enquiry, list[str]]]:
        """Enquiries not yet handled, oldest first, each with the references of the entries
        it is about (kept with its message when it named one or replied to ours)."""
        query = (
            select(Enquiry, InboundMessage.meta)
            .outerjoin(InboundMessage, InboundMessage.id == Enquiry.inbound_id)
            .where(Enquiry.handled_at.is_(None))
            .order_by(Enquiry.id)
        )
        return [(enquiry, _about(meta)) for enquiry, meta in await self.session.execute(query)]


def _about(meta: object) -> list[str]:
    about = meta.get("about") if isinstance(meta, dict) else None
    return [str(reference) for reference in about if isinstance(reference, str)] if isinstance(about, list) else []
