"""Expressions of interest, one row per council and offer (withdrawn ones stay)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select, text

from intake.models import Submission
from intake.store.repository import Repository


class SubmissionRepository(Repository):
    async def by_reference(self, reference: str, *, lock: bool = False) -> Submission | None:
        """`lock`: for a change. The row is locked until the transaction ends (FOR UPDATE:
        a second change waits for the first to commit) and read again after the lock, so
        two amendments of one entry at once never lose one. SQLite ignores it: its writes
        are one at a time."""
        query = select(Submission).where(Submission.reference == reference.upper())
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def from_inbound(self, inbound_id: int, offer: str) -> Submission | None:
        return await self.session.scalar(_FROM_INBOUND, {"inbound_id": inbound_id, "offer": offer})

    async def all(
        self,
        *,
        council_code: str | None = None,
        offer: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
    ) -> list[Submission]:
        query = select(Submission).order_by(Submission.id)
        if council_code:
            query = query.where(Submission.council_code == council_code)
        if offer:
            query = query.where(Submission.offer == offer)
        if status:
            query = query.where(Submission.status == status)
        if since:
            query = query.where(Submission.received_at > since)
        return list(await self.session.scalars(query))

    async def current(self, council_code: str, offer: str) -> Submission | None:
        """The council's latest active entry for `offer`, for a change (see `by_reference`):
        one row, however many the council has sent. On PostgreSQL the pair itself is
        locked first (an advisory lock held to the end of the transaction): FOR UPDATE
        locks only rows that exist, and two first entries of one council for one offer
        processed at once must not both be made."""
        if self.dialect == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"submission:{council_code}:{offer}"}
            )
        return await self.session.scalar(_CURRENT, {"council_code": council_code, "offer": offer})

    async def count(self, *, offer: str, status: str = "active") -> int:
        """How many entries for `offer` are in `status`, counted by the database."""
        return int(await self.session.scalar(_COUNT, {"offer": offer, "status": status}) or 0)


# Statements every submission runs, made once (docs/architecture.md, the store).
_FROM_INBOUND = select(Submission).where(
    Submission.inbound_id == bindparam("inbound_id"), Submission.offer == bindparam("offer")
)
_CURRENT = (
    select(Submission)
    .where(Submission.council_code == bindparam("council_code"), Submission.offer == bindparam("offer"),
           Submission.status == "active")
    .order_by(Submission.id.desc())
    .limit(1)
    .with_for_update()
    .execution_options(populate_existing=True)
)
_COUNT = select(func.count(Submission.id)).where(
    Submission.offer == bindparam("offer"), Submission.status == bindparam("status")
)
