"""An offer's places: one row per place, which an accepted submission holds (the
submission's (offer, place) is a foreign key here and unique), so no more can be accepted
than the offer has places, whatever a page or a second process does."""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from intake.models import Place, Submission
from intake.store.repository import Repository


class PlaceRepository(Repository):
    async def ensure(self, offer: str, capacity: int) -> None:
        """Places 1..capacity exist; free ones beyond it (capacity lowered) are gone."""
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        rows = [{"offer": offer, "slot": slot} for slot in range(1, capacity + 1)]
        await self.session.execute(insert(Place).values(rows).on_conflict_do_nothing())
        held = select(Submission.place).where(Submission.offer == offer, Submission.place.is_not(None))
        await self.session.execute(
            delete(Place).where(Place.offer == offer, Place.slot > capacity, Place.slot.not_in(held))
        )

    async def free(self, offer: str) -> int | None:
        """The lowest place no submission holds."""
        held = select(Submission.place).where(Submission.offer == offer, Submission.place.is_not(None))
        return await self.session.scalar(
            select(Place.slot).where(Place.offer == offer, Place.slot.not_in(held)).order_by(Place.slot).limit(1)
        )
