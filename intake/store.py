"""The only code that talks to the database.

`Store.keep_inbound` commits a raw message in its own transaction (the first thing that
happens to any message); everything after that runs inside `Store.unit()`, one
transaction per use case, through the small verbs of `Unit`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, event, func, insert, select, update
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from intake.models import (
    AuditEntry,
    Base,
    Counter,
    Draft,
    Enquiry,
    InboundMessage,
    Nomination,
    OutboundMessage,
    Submission,
)
from intake.writer_lock import WriterLock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kept:
    id: int
    duplicate: bool


def _sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def create_engine(url: str, *, synchronous: str = "FULL") -> AsyncEngine:
    """An async engine; on SQLite, WAL with the given synchronous setting (FULL: a commit
    survives a crash of the machine, not only of the process)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _sqlite_pragmas(engine.sync_engine, synchronous)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def create_keep_engine(url: str) -> Engine:
    """SQLite, synchronous=FULL, used from one thread of its own: a whole batch of kept
    messages is one hop to that thread, where aiosqlite would make a hop per call."""
    engine = create_sync_engine(make_url(url).set(drivername="sqlite"), connect_args={"timeout": 30})
    _sqlite_pragmas(engine, "FULL")
    return engine


class Store:
    def __init__(self, engine: AsyncEngine, *, keep_engine: Engine | None = None) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        # With a keep engine (SQLite), raw messages are kept on its own thread; otherwise
        # through the main engine.
        self.keep_engine = keep_engine
        self._keep_thread = ThreadPoolExecutor(1, thread_name_prefix="keep") if keep_engine else None
        # SQLite has one writer at a time: queue our own writers here rather than have
        # them spin on "database is locked". PostgreSQL needs no such queue.
        self._writer = WriterLock() if engine.dialect.name == "sqlite" else None
        self._keeping: list[tuple[dict[str, Any], asyncio.Future[Kept]]] = []
        self._keeper: asyncio.Task[None] | None = None
        self._last_kept = float("-inf")

    @asynccontextmanager
    async def _writing(self, *, urgent: bool = False) -> AsyncIterator[None]:
        if self._writer is None:
            yield
            return
        async with self._writer.hold(urgent=urgent):
            yield

    @classmethod
    def from_url(cls, url: str) -> Store:
        if make_url(url).get_backend_name() == "sqlite":
            # Only keeping a raw message must reach the disk before we answer: it is the
            # promise behind SMTP's 250. Everything after it can be redone from the kept
            # message (a message still "received" is processed again at start), so those
            # commits skip the fsync (WAL, synchronous=NORMAL: safe against a crash of
            # the process; the machine losing power rolls back to the last kept state).
            return cls(create_engine(url, synchronous="NORMAL"), keep_engine=create_keep_engine(url))
        return cls(create_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def create_all(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)

    async def close(self) -> None:
        if self._keeper is not None:
            await asyncio.gather(self._keeper, return_exceptions=True)
        await self.engine.dispose()
        if self._keep_thread is not None and self.keep_engine is not None:
            await asyncio.get_running_loop().run_in_executor(self._keep_thread, self.keep_engine.dispose)
            self._keep_thread.shutdown()
            self._keep_thread = None

    # --- keeping raw input -----------------------------------------------------------

    async def keep_inbound(
        self,
        *,
        channel: str,
        external_id: str | None,
        sender: str | None,
        subject: str,
        raw: bytes,
        meta: dict[str, Any],
        received_at: datetime,
    ) -> Kept:
        """Commit the raw message; the same (channel, external_id) again is a duplicate.

        Messages arriving together are committed together (one fsync for the group), so
        many senders at once do not queue behind each other's disk writes."""
        row = {
            "channel": channel,
            "external_id": external_id or None,  # "" would make every such message one
            "sender": sender,
            "subject": subject,
            "raw": raw,
            "meta": meta,
            "received_at": received_at,
            "status": "received",
        }
        future: asyncio.Future[Kept] = asyncio.get_running_loop().create_future()
        self._keeping.append((row, future))
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.create_task(self._keep_batches())
        return await future

    @property
    def keeping(self) -> bool:
        """True while messages are arriving (being kept, or kept in the last tenth of a
        second: senders waiting for a 250 send their next message at once): other
        writers should step aside."""
        if self._keeping or (self._keeper is not None and not self._keeper.done()):
            return True
        return time.monotonic() - self._last_kept < 0.1

    async def _keep_batches(self) -> None:
        while self._keeping:
            batch, self._keeping = self._keeping[:500], self._keeping[500:]
            results: list[Kept | BaseException]
            try:
                results = [*await self._keep_batch([row for row, _ in batch])]
            except IntegrityError:
                # Raced with another process on the same message: settle them one by one.
                results = []
                for row, _ in batch:
                    try:
                        results.append((await self._keep_batch([row]))[0])
                    except Exception as error:  # noqa: BLE001
                        results.append(error)
            except Exception as error:  # noqa: BLE001 - each sender is told (451), none hangs
                results = [error] * len(batch)
            self._last_kept = time.monotonic()
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _keep_batch(self, rows: list[dict[str, Any]]) -> list[Kept]:
        async with self._writing(urgent=True):
            if self._keep_thread is not None:
                return await asyncio.get_running_loop().run_in_executor(self._keep_thread, self._keep_on_thread, rows)
            async with self.engine.begin() as connection:
                return await connection.run_sync(_keep_rows, rows)

    # Only ever run on the keeping thread, which exists only with a keep engine.
    def _keep_on_thread(self, rows: list[dict[str, Any]]) -> list[Kept]:
        assert self.keep_engine is not None
        with self.keep_engine.begin() as connection:
            return _keep_rows(connection, rows)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self._writing(), self.sessions.begin() as session:
            yield Unit(session)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Unit]:
        async with self.sessions() as session:
            yield Unit(session)


def _keep_rows(connection: Connection, rows: list[dict[str, Any]]) -> list[Kept]:
    """Insert the rows not kept before. A fixed handful of statements however many rows:
    which are known already, one executemany, then the new ids (RETURNING with
    executemany would go row by row on SQLite)."""
    known = _known_inbound(connection, rows)
    without_id: dict[int, int] = {}  # row index -> its new id
    fresh: dict[tuple[str, str], int] = {}  # a key not kept before -> the first row with it
    for n, r in enumerate(rows):
        if r["external_id"] is None:
            # Nothing to look it up by afterwards: this one needs its own insert.
            without_id[n] = connection.execute(insert(InboundMessage).returning(InboundMessage.id), r).scalar_one()
        elif (key := (r["channel"], r["external_id"])) not in known:
            fresh.setdefault(key, n)
    if fresh:
        inserted = [rows[n] for n in fresh.values()]
        connection.execute(insert(InboundMessage), inserted)
        known.update(_known_inbound(connection, inserted))
    new = {*without_id, *fresh.values()}
    return [
        Kept(without_id[n] if n in without_id else known[(r["channel"], r["external_id"])], n not in new)
        for n, r in enumerate(rows)
    ]


def _known_inbound(connection: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    wanted = {(r["channel"], r["external_id"]) for r in rows if r["external_id"] is not None}
    known: dict[tuple[str, str], int] = {}
    for channel in {c for c, _ in wanted}:
        ids = [e for c, e in wanted if c == channel]
        found = connection.execute(
            select(InboundMessage.external_id, InboundMessage.id).where(
                InboundMessage.channel == channel, InboundMessage.external_id.in_(ids)
            )
        )
        known.update({(channel, e): i for e, i in found})
    return known


class Unit:
    """The database verbs the use cases need, inside one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- inbound ---------------------------------------------------------------------

    async def inbound(self, inbound_id: int) -> InboundMessage | None:
        return await self.session.get(InboundMessage, inbound_id)

    async def inbound_ids(self, *, status: str | None = None) -> list[int]:
        query = select(InboundMessage.id).order_by(InboundMessage.id)
        if status:
            query = query.where(InboundMessage.status == status)
        return list(await self.session.scalars(query))

    async def inbound_needing_attention(self) -> list[InboundMessage]:
        query = (
            select(InboundMessage)
            .where(InboundMessage.status.in_(("failed", "received")))
            .order_by(InboundMessage.id)
        )
        return list(await self.session.scalars(query))

    async def claim_inbound(self, inbound_id: int) -> InboundMessage | None:
        """Lock a received message for processing (a second worker gets None)."""
        query = select(InboundMessage).where(InboundMessage.id == inbound_id)
        if self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return await self.session.scalar(query)

    async def mark_inbound(
        self,
        inbound: InboundMessage,
        *,
        status: str,
        classification: str | None,
        detail: str | None,
        at: datetime,
    ) -> None:
        inbound.status = status
        inbound.classification = classification
        inbound.detail = detail
        inbound.processed_at = at

    # --- references ------------------------------------------------------------------

    async def next_number(self, name: str) -> int:
        """The next number in the named sequence, atomically (row lock / single writer)."""
        for _ in range(3):
            result = await self.session.execute(
                update(Counter)
                .where(Counter.name == name)
                .values(value=Counter.value + 1)
                .returning(Counter.value)
            )
            value = result.scalar_one_or_none()
            if value is not None:
                return int(value)
            try:
                async with self.session.begin_nested():
                    self.session.add(Counter(name=name, value=1))
                return 1
            except IntegrityError:
                continue  # another transaction created it first: increment theirs
        raise RuntimeError(f"could not take a number from sequence {name!r}")

    # --- submissions -----------------------------------------------------------------

    async def add(self, row: Any) -> Any:
        self.session.add(row)
        await self.session.flush()
        return row

    async def submission(self, reference: str) -> Submission | None:
        return await self.session.scalar(
            select(Submission).where(Submission.reference == reference.upper())
        )

    async def submission_from(self, inbound_id: int, offer: str) -> Submission | None:
        return await self.session.scalar(
            select(Submission).where(
                Submission.inbound_id == inbound_id, Submission.offer == offer
            )
        )

    async def submissions(
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

    async def active_count(self, offer: str) -> int:
        return int(
            await self.session.scalar(
                select(func.count(Submission.id)).where(
                    Submission.offer == offer, Submission.status == "active"
                )
            )
            or 0
        )

    # --- drafts ----------------------------------------------------------------------

    async def draft_from(self, inbound_id: int, offer: str) -> Draft | None:
        return await self.session.scalar(
            select(Draft).where(Draft.inbound_id == inbound_id, Draft.offer == offer)
        )

    async def draft(self, draft_id: int) -> Draft | None:
        return await self.session.get(Draft, draft_id)

    async def open_drafts(self, sender: str, before_inbound: int | None = None) -> list[Draft]:
        query = (
            select(Draft)
            .where(Draft.sender == sender, Draft.status == "open")
            .order_by(Draft.id.desc())
        )
        if before_inbound is not None:
            query = query.where(Draft.inbound_id < before_inbound)
        return list(await self.session.scalars(query))

    async def drafts_answered_by(self, message_ids: Sequence[str]) -> list[Draft]:
        """Open drafts whose "what's missing" reply is one of `message_ids` (the reply and
        the draft come from the same inbound message)."""
        if not message_ids:
            return []
        replied_to = select(OutboundMessage.inbound_id).where(
            OutboundMessage.message_id.in_(list(message_ids))
        )
        query = (
            select(Draft)
            .where(Draft.inbound_id.in_(replied_to), Draft.status == "open")
            .order_by(Draft.id)
        )
        return list(await self.session.scalars(query))

    # --- nominations -----------------------------------------------------------------

    async def nominations(
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

    async def nominations_from(self, inbound_id: int) -> list[Nomination]:
        return list(
            await self.session.scalars(
                select(Nomination).where(Nomination.inbound_id == inbound_id)
            )
        )

    async def nominations_by_reference(self, reference: str) -> list[Nomination]:
        return list(
            await self.session.scalars(
                select(Nomination).where(Nomination.reference == reference.upper())
            )
        )

    async def supersede(self, region: str, role: str) -> None:
        await self.session.execute(
            update(Nomination)
            .where(Nomination.region == region, Nomination.role == role, Nomination.current.is_(True))
            .values(current=False)
        )

    # --- enquiries -------------------------------------------------------------------

    async def enquiry_from(self, inbound_id: int) -> Enquiry | None:
        return await self.session.scalar(select(Enquiry).where(Enquiry.inbound_id == inbound_id))

    async def enquiries(self, *, since: datetime | None = None) -> list[Enquiry]:
        query = select(Enquiry).order_by(Enquiry.id)
        if since:
            query = query.where(Enquiry.received_at > since)
        return list(await self.session.scalars(query))

    # --- who has written -------------------------------------------------------------

    async def senders(self) -> list[str]:
        """Every distinct address that has sent us anything (for reminders)."""
        rows = await self.session.scalars(
            select(InboundMessage.sender).where(InboundMessage.sender.is_not(None)).distinct()
        )
        return [row for row in rows if row]

    async def inbound_since(self, since: datetime | None) -> list[InboundMessage]:
        query = select(InboundMessage).order_by(InboundMessage.id)
        if since:
            query = query.where(InboundMessage.received_at > since)
        return list(await self.session.scalars(query))

    # --- outbound --------------------------------------------------------------------

    async def outbound_by_key(self, send_key: str) -> OutboundMessage | None:
        return await self.session.scalar(
            select(OutboundMessage).where(OutboundMessage.send_key == send_key)
        )

    async def record_outbound(self, row: OutboundMessage) -> OutboundMessage | None:
        """Record a message to send; None if its send_key was recorded before."""
        try:
            async with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return None
        return row

    async def outbound_due(self, now: datetime, *, limit: int = 100) -> list[OutboundMessage]:
        query = (
            select(OutboundMessage)
            .where(
                OutboundMessage.status == "pending",
                (OutboundMessage.next_attempt_at.is_(None))
                | (OutboundMessage.next_attempt_at <= now),
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def claim_outbound(self, outbound_id: int, now: datetime) -> bool:
        """Take a pending message for sending; False if another worker took it first."""
        result = await self.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == outbound_id, OutboundMessage.status == "pending")
            .values(status="sending", attempts=OutboundMessage.attempts + 1, next_attempt_at=now)
        )
        return result.rowcount == 1

    async def finish_outbound(
        self, outbound_id: int, *, sent_at: datetime | None, error: str | None, retry_at: datetime | None
    ) -> None:
        if sent_at is not None:
            values: dict[str, Any] = {"status": "sent", "sent_at": sent_at, "error": None}
        elif retry_at is not None:
            values = {"status": "pending", "error": error, "next_attempt_at": retry_at}
        else:
            values = {"status": "failed", "error": error}
        await self.session.execute(
            update(OutboundMessage).where(OutboundMessage.id == outbound_id).values(**values)
        )

    async def outbound_sending(self) -> int:
        return int(
            await self.session.scalar(
                select(func.count(OutboundMessage.id)).where(OutboundMessage.status == "sending")
            )
            or 0
        )

    async def release_stale_sending(self, before: datetime) -> int:
        """Messages a stopped worker was sending go back in the queue."""
        result = await self.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "sending", OutboundMessage.next_attempt_at < before)
            .values(status="pending")
        )
        return result.rowcount

    async def outbound(self, *, kind: str | None = None) -> list[OutboundMessage]:
        query = select(OutboundMessage).order_by(OutboundMessage.id)
        if kind:
            query = query.where(OutboundMessage.kind == kind)
        return list(await self.session.scalars(query))

    async def last_sent(self, kind: str) -> datetime | None:
        return await self.session.scalar(
            select(func.max(OutboundMessage.created_at)).where(OutboundMessage.kind == kind)
        )

    # --- audit -----------------------------------------------------------------------

    async def audit(
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
                at=at,
                actor=actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                reference=reference,
                detail=detail or {},
                inbound_id=inbound_id,
            )
        )

    async def audit_trail(self, reference: str | None = None) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if reference:
            query = query.where(AuditEntry.reference == reference.upper())
        return list(await self.session.scalars(query))

    # --- reminders and digests (intake.schedule) ---------------------------------------

    async def outbound_keys(self, prefix: str) -> set[str]:
        """The send keys already recorded that start with `prefix`."""
        rows = await self.session.scalars(
            select(OutboundMessage.send_key).where(OutboundMessage.send_key.startswith(prefix, autoescape=True))
        )
        return {row for row in rows if row}

    async def outbound_count(self, prefix: str) -> dict[str, int]:
        """Recorded sends whose key starts with `prefix`, counted by status."""
        rows = await self.session.execute(
            select(OutboundMessage.status, func.count(OutboundMessage.id))
            .where(OutboundMessage.send_key.startswith(prefix, autoescape=True))
            .group_by(OutboundMessage.status)
        )
        return {status: int(count) for status, count in rows}

    async def last_recorded(self, kind: str, *, before: datetime) -> datetime | None:
        """When the latest `kind` message recorded at or before `before` was created."""
        return await self.session.scalar(
            select(func.max(OutboundMessage.created_at)).where(
                OutboundMessage.kind == kind, OutboundMessage.created_at <= before
            )
        )

    async def senders_until(self, moment: datetime) -> list[str]:
        """Every distinct address that had sent us anything by `moment`."""
        rows = await self.session.scalars(
            select(InboundMessage.sender)
            .where(InboundMessage.sender.is_not(None), InboundMessage.received_at <= moment)
            .distinct()
        )
        return [row for row in rows if row]

    # Slack posts share the outbound table but use their own states (queued -> posting ->
    # sent | failed), so email delivery, which drains "pending", never picks them up.

    async def slack_due(self, now: datetime, *, limit: int = 50) -> list[OutboundMessage]:
        query = (
            select(OutboundMessage)
            .where(
                OutboundMessage.channel == "slack",
                OutboundMessage.status == "queued",
                (OutboundMessage.next_attempt_at.is_(None)) | (OutboundMessage.next_attempt_at <= now),
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def claim_slack(self, outbound_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == outbound_id, OutboundMessage.status == "queued")
            .values(status="posting", attempts=OutboundMessage.attempts + 1, next_attempt_at=now)
        )
        return result.rowcount == 1

    async def finish_slack(
        self, outbound_id: int, *, sent_at: datetime | None, error: str | None, retry_at: datetime | None
    ) -> None:
        if sent_at is not None:
            values: dict[str, Any] = {"status": "sent", "sent_at": sent_at, "error": None}
        elif retry_at is not None:
            values = {"status": "queued", "error": error, "next_attempt_at": retry_at}
        else:
            values = {"status": "failed", "error": error}
        await self.session.execute(
            update(OutboundMessage).where(OutboundMessage.id == outbound_id).values(**values)
        )

    async def release_stale_posting(self, before: datetime) -> int:
        result = await self.session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.channel == "slack",
                OutboundMessage.status == "posting",
                OutboundMessage.next_attempt_at < before,
            )
            .values(status="queued")
        )
        return result.rowcount
