"""Changes held for the contact on record (or the team) to confirm, each with its one-time token."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select, text

from intake.models import Confirmation
from intake.store.repository import Repository


class ConfirmationRepository(Repository):
    async def by_token(self, token: str) -> Confirmation | None:
        return await self.session.scalar(select(Confirmation).where(Confirmation.token == token))

    async def get(self, confirmation_id: int) -> Confirmation | None:
        return await self.session.get(Confirmation, confirmation_id)

    async def for_inbound(self, inbound_id: int) -> list[Confirmation]:
        """Every confirmation asked for the changes in one held message, oldest first."""
        query = select(Confirmation).where(Confirmation.inbound_id == inbound_id).order_by(Confirmation.id)
        return list(await self.session.scalars(query))

    async def pending(self) -> list[Confirmation]:
        """Changes still waiting for their contact, lapsed or not, oldest first."""
        query = select(Confirmation).where(Confirmation.status == "pending").order_by(Confirmation.id)
        return list(await self.session.scalars(query))

    async def waiting_on(self, entry: str, *, besides_inbound: int) -> list[Confirmation]:
        """Changes to one entry (a reference, or a target with none) still pending, asked
        by other messages than `besides_inbound`."""
        query = select(Confirmation).where(
            Confirmation.status == "pending", Confirmation.inbound_id != besides_inbound,
            or_(Confirmation.reference == entry, (Confirmation.reference.is_(None)) & (Confirmation.target == entry)),
        ).order_by(Confirmation.id)
        return list(await self.session.scalars(query))

    async def asked_since(self, contact: str, since: datetime) -> int:
        """How many requests were mailed to `contact` since then."""
        query = select(func.count()).select_from(Confirmation).where(
            Confirmation.contact == contact, Confirmation.waits_for == "contact", Confirmation.created_at > since
        )
        return int(await self.session.scalar(query) or 0)

    async def lock(self, keys: Iterable[str]) -> None:
        """Hold these keys (entries, contacts) until the transaction ends, in a fixed order
        so two transactions never wait on each other: on PostgreSQL, where messages are
        processed side by side, two requests for one entry then cannot both be the one
        waiting. SQLite has one writer at a time already."""
        if self.dialect != "postgresql":
            return
        for key in sorted(set(keys)):
            await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": "confirm:" + key})
