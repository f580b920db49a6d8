"""The outbox table: everything we send, recorded before it is sent.

One state machine for every channel: pending -> sending -> sent | failed; a failed
attempt goes back to pending with a later `next_attempt_at` until attempts run out. While
a row is "sending", `next_attempt_at` is when its worker's lease runs out; after that it
is due again (see intake/outbox/dispatch.py). A claim is known by its owner and the
attempt it made: its lease is renewed, and its result recorded, only while the row is
still in that claim's hands, checked in the statement that writes. A `send_key` is
unique, so a message recorded twice (a replay, a second instance, a catch-up run) is
sent once.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from intake.models import OutboundMessage
from intake.store.repository import Repository


def _claimable(now: datetime, lease_now: datetime) -> Any:
    """Due now: pending and its time has come, or being sent on a lease that has run out
    (leases are on the real clock, `lease_now`)."""
    pending = (OutboundMessage.status == "pending") & (
        OutboundMessage.next_attempt_at.is_(None) | (OutboundMessage.next_attempt_at <= now)
    )
    abandoned = (OutboundMessage.status == "sending") & (OutboundMessage.next_attempt_at <= lease_now)
    return pending | abandoned


def _held(leases: Mapping[int, int], owner: str | None) -> Any:
    """Rows still in the hands of these claims (id -> the attempt the claim made) by
    `owner`. Every claim adds an attempt, so a claim by anyone since (this process's next
    round included) no longer matches."""
    by_attempt: dict[int, list[int]] = {}
    for outbound_id, attempt in leases.items():
        by_attempt.setdefault(attempt, []).append(outbound_id)
    claims = or_(*(
        (OutboundMessage.attempts == attempt) & OutboundMessage.id.in_(ids) for attempt, ids in by_attempt.items()
    ))
    return (OutboundMessage.status == "sending") & (OutboundMessage.lease_owner == owner) & claims


class OutboundRepository(Repository):
    async def record(self, row: OutboundMessage) -> OutboundMessage | None:
        """Record a message to send; None if its send_key was recorded before."""
        try:
            async with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return None
        return row

    async def record_new(self, rows: Sequence[OutboundMessage], *, known: bool = True) -> list[OutboundMessage]:
        """Record those rows whose send key is not recorded yet, found with one query
        (none if the caller knows no key can be: `known=False`), and flush them for their
        ids. For a caller that holds the only claim on what the keys are made from (the
        pipeline, on its claimed inbound message)."""
        if known and rows:
            query = select(OutboundMessage.send_key).where(OutboundMessage.send_key.in_([r.send_key for r in rows]))
            recorded = set(await self.session.scalars(query))
            rows = [row for row in rows if row.send_key not in recorded]
        if rows:
            self.session.add_all(rows)
            await self.session.flush()
        return list(rows)

    async def by_ids(self, outbound_ids: Sequence[int]) -> list[OutboundMessage]:
        query = select(OutboundMessage).where(OutboundMessage.id.in_(list(outbound_ids))).order_by(OutboundMessage.id)
        return list(await self.session.scalars(query))

    async def for_inbound(self, inbound_ids: Sequence[int]) -> list[OutboundMessage]:
        """What we sent in answer to these messages, oldest first."""
        if not inbound_ids:
            return []
        query = select(OutboundMessage).where(OutboundMessage.inbound_id.in_(list(inbound_ids)))
        return list(await self.session.scalars(query.order_by(OutboundMessage.id)))

    async def failed(self) -> list[OutboundMessage]:
        """Sends that gave up (a permanent refusal, or retries exhausted)."""
        query = select(OutboundMessage).where(OutboundMessage.status == "failed")
        return list(await self.session.scalars(query.order_by(OutboundMessage.id)))

    async def all(self, *, kind: str | None = None, channel: str | None = None) -> list[OutboundMessage]:
        query = select(OutboundMessage).order_by(OutboundMessage.id)
        if kind:
            query = query.where(OutboundMessage.kind == kind)
        if channel:
            query = query.where(OutboundMessage.channel == channel)
        return list(await self.session.scalars(query))

    # --- sending ------------------------------------------------------------------------

    async def due(
        self, now: datetime, *, channel: str, limit: int = 100, lease_now: datetime | None = None
    ) -> list[OutboundMessage]:
        """Pending rows whose time has come, and rows being sent whose lease has run out
        (their worker stopped or hung: sending them again is the only way to be sure)."""
        query = (
            select(OutboundMessage)
            .where(
                OutboundMessage.channel == channel,
                _claimable(now, lease_now or now),
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def claim(
        self, outbound_ids: Sequence[int], now: datetime, *, lease_now: datetime, lease_until: datetime,
        owner: str | None = None,
    ) -> set[int]:
        """Take due messages for sending until `lease_until`; those another worker took
        first (and still holds) are not among the ids returned."""
        return set(await self.take(outbound_ids, now, lease_now=lease_now, lease_until=lease_until, owner=owner))

    async def take(
        self, outbound_ids: Sequence[int], now: datetime, *, lease_now: datetime, lease_until: datetime,
        owner: str | None = None,
    ) -> dict[int, int]:
        """As `claim`, with the attempt each claim made (id -> attempts after it): with the
        owner, what later statements check that the claim is still this one. The claim's
        condition is checked again in the UPDATE, so two workers never both take one."""
        if not outbound_ids:
            return {}
        return await self._take(OutboundMessage.id.in_(list(outbound_ids)) & _claimable(now, lease_now),
                                lease_until=lease_until, owner=owner)

    async def claim_held(
        self, outbound_ids: Sequence[int], *, lease_until: datetime, owner: str | None = None,
    ) -> set[int]:
        """Take rows held for their caller (not yet due) for sending until `lease_until`,
        as `claim` does; a row the dispatcher took over first is not among those returned."""
        return set(await self.take_held(outbound_ids, lease_until=lease_until, owner=owner))

    async def take_held(
        self, outbound_ids: Sequence[int], *, lease_until: datetime, owner: str | None = None,
    ) -> dict[int, int]:
        """As `claim_held`, with the attempt each claim made (see `take`)."""
        if not outbound_ids:
            return {}
        return await self._take(OutboundMessage.id.in_(list(outbound_ids)) & (OutboundMessage.status == "pending"),
                                lease_until=lease_until, owner=owner)

    async def _take(self, where: Any, *, lease_until: datetime, owner: str | None) -> dict[int, int]:
        result = await self.session.execute(
            update(OutboundMessage)
            .where(where)
            .values(status="sending", attempts=OutboundMessage.attempts + 1, next_attempt_at=lease_until,
                    lease_owner=owner)
            .returning(OutboundMessage.id, OutboundMessage.attempts)
        )
        return {outbound_id: attempts for outbound_id, attempts in result}

    async def renew(
        self, leases: Mapping[int, int], *, owner: str | None, lease_now: datetime, lease_until: datetime
    ) -> set[int]:
        """Hold these claims (id -> the attempt each made) until `lease_until`, those
        still ours and not yet run out; the ids renewed. Checked and renewed in one UPDATE:
        a worker taking a row over and this renewal cannot both succeed."""
        if not leases:
            return set()
        result = await self.session.execute(
            update(OutboundMessage)
            .where(_held(leases, owner), OutboundMessage.next_attempt_at > lease_now)
            .values(next_attempt_at=lease_until)
            .returning(OutboundMessage.id)
        )
        return set(result.scalars())

    async def lease_owners(self) -> list[str]:
        """The processes holding leases on sends in hand."""
        query = select(OutboundMessage.lease_owner).where(
            OutboundMessage.status == "sending", OutboundMessage.lease_owner.is_not(None)
        ).distinct()
        return list(await self.session.scalars(query))

    async def release(self, owners: Sequence[str], *, lease_now: datetime) -> int:
        """Sends in hand of processes known to be gone are due again now; the count."""
        if not owners:
            return 0
        result = await self.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "sending", OutboundMessage.lease_owner.in_(list(owners)))
            .values(next_attempt_at=lease_now)
        )
        return int(result.rowcount or 0)

    async def sent(self, outbound_id: int, *, attempt: int, owner: str | None, at: datetime) -> bool:
        """Record that claim `attempt` by `owner` sent the row; False (nothing recorded)
        when the claim is no longer the row's: another worker has taken it over."""
        result = await self.session.execute(
            update(OutboundMessage)
            .where(_held({outbound_id: attempt}, owner))
            .values(status="sent", sent_at=at, error=None)
        )
        return bool(result.rowcount)

    async def not_sent(
        self, outbound_id: int, *, attempt: int, owner: str | None, error: str, retry_at: datetime | None
    ) -> bool:
        """Failed attempt number `attempt` (by `owner`): pending again until `retry_at`,
        or failed for good (None). False, and nothing recorded, if the claim is no longer
        the row's."""
        values: dict[str, Any] = (
            {"status": "pending", "error": error, "next_attempt_at": retry_at}
            if retry_at is not None
            else {"status": "failed", "error": error}
        )
        result = await self.session.execute(
            update(OutboundMessage).where(_held({outbound_id: attempt}, owner)).values(**values)
        )
        return bool(result.rowcount)

    async def next_due(self, *, channel: str) -> datetime | None:
        """When the earliest pending send on `channel` falls due (None: none waits)."""
        return await self.session.scalar(
            select(func.min(func.coalesce(OutboundMessage.next_attempt_at, OutboundMessage.created_at))).where(
                OutboundMessage.channel == channel, OutboundMessage.status == "pending"
            )
        )

    async def sending(self, *, channel: str) -> int:
        count = await self.session.scalar(
            select(func.count(OutboundMessage.id)).where(
                OutboundMessage.channel == channel, OutboundMessage.status == "sending"
            )
        )
        return int(count or 0)

    # --- for the jobs -------------------------------------------------------------------

    async def keys(self, prefix: str) -> set[str]:
        """The send keys already recorded that start with `prefix`."""
        rows = await self.session.scalars(
            select(OutboundMessage.send_key).where(OutboundMessage.send_key.startswith(prefix, autoescape=True))
        )
        return {row for row in rows if row}

    async def count_by_status(self, prefix: str) -> dict[str, int]:
        """Recorded sends whose key starts with `prefix`, counted by status."""
        rows = await self.session.execute(
            select(OutboundMessage.status, func.count(OutboundMessage.id))
            .where(OutboundMessage.send_key.startswith(prefix, autoescape=True))
            .group_by(OutboundMessage.status)
        )
        return {status: int(count) for status, count in rows}

    async def last_recorded(self, kind: str, *, before: datetime | None = None) -> datetime | None:
        """When the latest `kind` message (recorded at or before `before`) was created."""
        query = select(func.max(OutboundMessage.created_at)).where(OutboundMessage.kind == kind)
        if before is not None:
            query = query.where(OutboundMessage.created_at <= before)
        return await self.session.scalar(query)
