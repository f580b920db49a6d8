"""Personal data in the database: the rows tied to one address (`direct`), the other rows a
test says mention them (`scan`), what the retention period reaches (`due`), and a planned
set of changes written in one go (`apply`): columns rewritten, rows deleted in an order
the foreign keys allow. What to change is planned elsewhere (intake/reports/erasure_plan.py,
intake/reports/retention_plan.py); this module only reads and writes."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, or_, select, text, update

from intake.models import (
    AuditEntry,
    Base,
    Confirmation,
    Enquiry,
    InboundMessage,
    IncompleteSubmission,
    Nomination,
    OutboundMessage,
    SignInLink,
    Submission,
    TeamSession,
    UnreachableAddress,
)
from intake.store.repository import Repository

M = TypeVar("M", bound=Base)
BATCH = 200  # rows read at a time while scanning (raw messages can be megabytes each)
# Rows that refer to a kept message, by the column that does: detached before it is deleted.
REFERS_TO_INBOUND = (
    (Submission, "inbound_id"), (IncompleteSubmission, "inbound_id"), (Nomination, "inbound_id"),
    (Enquiry, "inbound_id"), (OutboundMessage, "inbound_id"), (AuditEntry, "inbound_id"),
    (Confirmation, "confirmed_by"),
)
# Deleted in this order: whatever refers to a row goes before it.
DELETE_ORDER: tuple[type[Base], ...] = (
    Confirmation, IncompleteSubmission, OutboundMessage, AuditEntry, Enquiry, Nomination, Submission,
    SignInLink, TeamSession, UnreachableAddress, InboundMessage,
)


@dataclass
class Direct:
    """The rows that name one address in a column of their own."""

    address: str
    inbound: list[InboundMessage] = field(default_factory=list)  # what they sent
    submissions: list[Submission] = field(default_factory=list)  # they are its contact or sent it
    nominations: list[Nomination] = field(default_factory=list)  # they are named or sent it
    drafts: list[IncompleteSubmission] = field(default_factory=list)
    enquiries: list[Enquiry] = field(default_factory=list)  # they asked, or answered as the team
    outbound: list[OutboundMessage] = field(default_factory=list)  # to them, or answering them
    audit: list[AuditEntry] = field(default_factory=list)  # by them, or from their messages
    confirmations: list[Confirmation] = field(default_factory=list)
    sign_in_links: list[SignInLink] = field(default_factory=list)
    sessions: list[TeamSession] = field(default_factory=list)
    unreachable: list[UnreachableAddress] = field(default_factory=list)

    def of(self, model: type[Base]) -> list[Any]:
        """The rows of one table."""
        return {
            InboundMessage: self.inbound, Submission: self.submissions, Nomination: self.nominations,
            IncompleteSubmission: self.drafts, Enquiry: self.enquiries, OutboundMessage: self.outbound,
            AuditEntry: self.audit, Confirmation: self.confirmations, SignInLink: self.sign_in_links,
            TeamSession: self.sessions, UnreachableAddress: self.unreachable,
        }[model]


def key_of(row: Base) -> Any:
    """A row's primary key (one column in every table here)."""
    return getattr(row, _key_column(type(row)).key)


def _key_column(model: type[Base]) -> Any:
    [column] = model.__table__.primary_key.columns  # type: ignore[attr-defined]
    return column


def _is(column: Any, address: str) -> Any:
    return func.lower(column) == address


class PersonalDataRepository(Repository):
    async def secure_delete(self, on: bool) -> None:
        """SQLite overwrites what this transaction deletes with zeros (on this connection
        only) rather than leave it in the file's free space."""
        if self.dialect == "sqlite":
            await self.session.execute(text(f"PRAGMA secure_delete={'ON' if on else 'OFF'}"))

    async def direct(self, address: str) -> Direct:
        address = address.strip().lower()
        found = Direct(address)
        found.inbound = await self._all(InboundMessage, _is(InboundMessage.sender, address))
        sent = [m.id for m in found.inbound]
        found.submissions = await self._all(
            Submission, or_(_is(Submission.contact_email, address), _is(Submission.sender, address)))
        found.nominations = await self._all(
            Nomination, or_(_is(Nomination.email, address), _is(Nomination.sender, address)))
        found.drafts = await self._all(IncompleteSubmission, _is(IncompleteSubmission.sender, address))
        found.enquiries = await self._all(
            Enquiry, or_(_is(Enquiry.sender, address), _is(Enquiry.handled_by, address)))
        found.outbound = await self._all(
            OutboundMessage, or_(_is(OutboundMessage.recipient, address), OutboundMessage.inbound_id.in_(sent)))
        references = {s.reference for s in found.submissions} | {n.reference for n in found.nominations}
        found.audit = await self._all(AuditEntry, or_(
            _is(AuditEntry.actor, address), AuditEntry.inbound_id.in_(sent), AuditEntry.reference.in_(references)))
        found.confirmations = await self._all(Confirmation, or_(
            _is(Confirmation.contact, address), _is(Confirmation.requester, address),
            Confirmation.inbound_id.in_(sent), Confirmation.confirmed_by.in_(sent)))
        found.sign_in_links = await self._all(SignInLink, _is(SignInLink.email, address))
        found.sessions = await self._all(TeamSession, _is(TeamSession.email, address))
        found.unreachable = await self._all(
            UnreachableAddress, or_(_is(UnreachableAddress.address, address), _is(UnreachableAddress.noted_by, address)))
        return found

    async def _all(self, model: type[M], where: Any) -> list[M]:
        query = select(model).where(where).order_by(_key_column(model))
        return list(await self.session.scalars(query))

    async def scan(self, model: type[M], test: Callable[[M], bool], *, skip: Collection[Any] = ()) -> list[M]:
        """Every row of `model` (but those in `skip`, by key) that `test` keeps, read a
        batch at a time; the others are let go as soon as they are tested. `test` runs on
        a thread (it may read every stored message: seconds for a campaign), on rows
        already loaded, so the event loop answers others meanwhile."""
        column, found, last = _key_column(model), [], None
        skipped = set(skip)
        while True:
            query = select(model).order_by(column).limit(BATCH)
            if last is not None:
                query = query.where(column > last)
            rows = list(await self.session.scalars(query))
            if not rows:
                return found
            last = key_of(rows[-1])
            kept = await asyncio.to_thread(lambda: [key_of(r) not in skipped and test(r) for r in rows])
            for row, keep in zip(rows, kept):
                if keep:
                    found.append(row)
                else:
                    self.session.expunge(row)

    async def due(self, model: type[M], column: str, cutoff: datetime, *, where: Any = None) -> list[M]:
        """Rows whose `column` (a moment) is at or before `cutoff`."""
        moment = getattr(model, column)
        condition = moment <= cutoff if where is None else (moment <= cutoff) & where
        return await self._all(model, condition)

    async def due_keys(self, model: type[Base], column: str, cutoff: datetime, *, where: Any = None) -> list[Any]:
        """The keys alone (a raw message's bytes are not read to delete it)."""
        key, moment = _key_column(model), getattr(model, column)
        condition = moment <= cutoff if where is None else (moment <= cutoff) & where
        return list(await self.session.scalars(select(key).where(condition).order_by(key)))

    async def spent_sign_in(self, cutoff: datetime) -> tuple[list[int], list[str]]:
        """The keys of sign-in links used or lapsed, and of sessions ended or lapsed, by `cutoff`."""
        links = await self.session.scalars(select(SignInLink.id).where(
            or_(SignInLink.used_at <= cutoff, SignInLink.expires_at <= cutoff)).order_by(SignInLink.id))
        sessions = await self.session.scalars(select(TeamSession.token_hash).where(
            or_(TeamSession.ended_at <= cutoff, TeamSession.expires_at <= cutoff)).order_by(TeamSession.token_hash))
        return list(links), list(sessions)

    async def apply(
        self,
        *,
        delete_rows: Mapping[type[Base], Collection[Any]],
        rewrite: Mapping[type[Base], Mapping[Any, Mapping[str, Any]]],
    ) -> None:
        """Rewrite columns, then delete rows (by primary key). A deleted kept message is
        first let go by every row that refers to it; its confirmations go with it."""
        self.session.expunge_all()  # what was read to plan this is not written back
        doomed = {model: set(keys) for model, keys in delete_rows.items() if keys}
        for model, rows in rewrite.items():
            column = _key_column(model)
            for key, values in rows.items():
                if key not in doomed.get(model, ()):
                    await self.session.execute(update(model).where(column == key).values(**values))
        messages = sorted(doomed.get(InboundMessage, ()))
        if messages:
            await self._detach(messages)
        for model in DELETE_ORDER:
            keys = sorted(doomed.get(model, ()))
            for chunk in _chunks(keys):
                await self.session.execute(delete(model).where(_key_column(model).in_(chunk)))

    async def _detach(self, messages: Sequence[int]) -> None:
        for chunk in _chunks(list(messages)):
            await self.session.execute(delete(Confirmation).where(Confirmation.inbound_id.in_(chunk)))
            for model, name in REFERS_TO_INBOUND:
                column = getattr(model, name)
                await self.session.execute(update(model).where(column.in_(chunk)).values({name: None}))


def _chunks(keys: list[Any], size: int = 500) -> list[list[Any]]:
    return [keys[n:n + size] for n in range(0, len(keys), size)]
