"""The audit trail: who changed what, from which message."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from intake.models import AuditEntry
from intake.store.repository import Repository


class AuditRepository(Repository):
    def record(
        self,
        *,
        at: datetime,
        actor: str | None,
        action: str,
        entity: str,
        entity_id: int | None,
        reference: str | None = None,
        detail: dict[str, Any] | None = None,
        inbound_id: int | None = None,
    ) -> None:
        self.session.add(
            AuditEntry(
                at=at, actor=actor, action=action, entity=entity, entity_id=entity_id,
                reference=reference, detail=detail or {}, inbound_id=inbound_id,
            )
        )

    async def trail(self, reference: str | None = None) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if reference:
            query = query.where(AuditEntry.reference == reference.upper())
        return list(await self.session.scalars(query))
