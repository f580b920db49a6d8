"""Expressions of interest, one row per council and offer (withdrawn ones stay)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from intake.models import Submission
from intake.store.repository import Repository


class SubmissionRepository(Repository):
    async def by_reference(self, reference: str) -> Submission | None:
        return await self.session.scalar(select(Submission).where(Submission.reference == reference.upper()))

    async def from_inbound(self, inbound_id: int, offer: str) -> Submission | None:
        return await self.session.scalar(
            select(Submission).where(Submission.inbound_id == inbound_id, Submission.offer == offer)
        )

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
