"""A unit of work: one transaction, with one repository per table."""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from intake.store.sign_in_rows import AccessRepository
from intake.store.audit import AuditRepository
from intake.store.confirmation_rows import ConfirmationRepository
from intake.store.counters import CounterRepository
from intake.store.draft_rows import DraftRepository
from intake.store.enquiries import EnquiryRepository
from intake.store.inbound import InboundRepository
from intake.store.nomination_rows import NominationRepository
from intake.store.health_counts import OperationsRepository
from intake.store.outbound import OutboundRepository
from intake.store.personal_rows import PersonalDataRepository
from intake.store.places import PlaceRepository
from intake.store.submission_rows import SubmissionRepository
from intake.store.threads import ThreadRepository
from intake.store.unreachable import UnreachableRepository

Row = TypeVar("Row")


class Unit:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.inbound = InboundRepository(session)
        self.submissions = SubmissionRepository(session)
        self.drafts = DraftRepository(session)
        self.nominations = NominationRepository(session)
        self.enquiries = EnquiryRepository(session)
        self.outbound = OutboundRepository(session)
        self.audit = AuditRepository(session)
        self.counters = CounterRepository(session)
        self.confirmations = ConfirmationRepository(session)
        self.places = PlaceRepository(session)
        self.access = AccessRepository(session)
        self.unreachable = UnreachableRepository(session)
        self.operations = OperationsRepository(session)
        self.personal = PersonalDataRepository(session)  # find, erase, retention
        self.threads = ThreadRepository(session)

    async def add(self, row: Row) -> Row:
        """Add a new row of any table and flush, so it has its id."""
        self.session.add(row)
        await self.session.flush()
        return row
