"""Addresses the team has noted as unreachable."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from intake.models import UnreachableAddress
from intake.store.repository import Repository


class UnreachableRepository(Repository):
    async def note(self, address: str, *, at: datetime, by: str, reason: str) -> bool:
        """False when it was noted already."""
        address = address.strip().lower()
        if await self.session.get(UnreachableAddress, address) is not None:
            return False
        self.session.add(UnreachableAddress(address=address, noted_at=at, noted_by=by, reason=reason))
        return True

    async def addresses(self) -> set[str]:
        return set(await self.session.scalars(select(UnreachableAddress.address)))
