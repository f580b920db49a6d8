"""The service layer: what channels, the CLI and the jobs call. `keep` commits what a
channel received; `process` runs the pipeline (`intake/pipeline/`) over a kept message;
the rest are read-only views (a form checked before it is sent, the export)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from intake.campaign.definition import Campaign
from intake.campaign.contacts import Contacts
from intake.campaign.register import CouncilRegister
from intake.messages import FormInput, Identified, Inbound, Kept, Outcome, storable
from intake.parsing import FieldError, missing_required, parse_form, parse_nomination_form
from intake.pipeline import Channels, Pipeline, World
from intake.pipeline.pipeline import Finish
from intake.pipeline.reply_limits import RateLimits
from intake.campaign.records import records
from intake.reports.reply_data import when
from intake.store import Store


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class IntakeService:
    def __init__(
        self,
        *,
        store: Store,
        campaign: Campaign,
        councils: CouncilRegister,
        channels: Channels | None = None,
        clock: Callable[[], datetime] = utcnow,
        intake_address: str = "eoi@localhost",
        on_outbound: Callable[[set[str]], None] | None = None,
        rate_limits: Mapping[str, RateLimits] | None = None,
        contacts: Callable[[], Contacts] = Contacts,
    ) -> None:
        self.store = store
        self.campaign = campaign
        self.councils = councils
        self.clock = clock
        self.intake_address = intake_address
        self.channels = channels or Channels()
        self.world = World(campaign, councils, clock, self.channels, intake_address, rate_limits=rate_limits or {},
                           contacts=contacts)
        self.pipeline = Pipeline(store, self.world, on_outbound=on_outbound)

    @property
    def arriving(self) -> bool:
        """Messages are arriving (from any channel): work that can wait should."""
        return self.store.keeping

    async def keep(self, inbound: Inbound) -> Kept:
        """Commit the raw input; nothing else happens before this returns."""
        meta = dict(inbound.meta)
        if inbound.text is not None:
            meta["text"] = inbound.text
        if inbound.form is not None:
            meta["form"] = {"kind": inbound.form.kind, "offer": inbound.form.offer, "values": inbound.form.values}
        meta["admin"] = inbound.admin
        return await self.store.keep_inbound(
            channel=inbound.channel,
            external_id=inbound.external_id,
            sender=storable((inbound.sender or "").lower() or None),
            subject=storable(inbound.subject) or "",
            raw=inbound.raw,
            meta=meta,
            received_at=self.clock(),
        )

    async def receive(self, inbound: Inbound) -> Outcome:
        kept = await self.keep(inbound)
        if kept.duplicate:
            return Outcome(kept.id, "duplicate", duplicate=True)
        return await self.process(kept.id)

    async def process(
        self, inbound_id: int, *, again: bool = False, identified: Identified | None = None, answering: bool = False
    ) -> Outcome:
        """Run the pipeline over a kept message. `identified`: who sent it, when the
        channel found out only after keeping it. `answering`: the caller sends the answers
        on the message's channel itself, at once (`Outcome.held`)."""
        return await self.pipeline.process(inbound_id, again=again, identified=identified, answering=answering)

    async def prepare(self, inbound_id: int, *, again: bool = False) -> Finish:
        """`process` in two halves: this one (reading, the sender check, parsing) may run for
        several messages at once; awaiting what it returns records the outcome, one
        message at a time, in the order they are called for."""
        return await self.pipeline.prepare(inbound_id, again=again)

    async def replay(
        self, ids: Sequence[int] | None = None, *, each: Callable[[Outcome], None] | None = None
    ) -> list[Outcome]:
        """Process stored messages again (after a parser fix). Changes nothing that is
        already right: records are keyed by their inbound message, replies by kind.
        `each` hears of every message as it is done (a progress bar)."""
        if ids is None:
            async with self.store.reader() as unit:
                ids = await unit.inbound.ids()
        outcomes = []
        for inbound_id in ids:
            outcomes.append(await self.process(inbound_id, again=True))
            if each is not None:
                each(outcomes[-1])
        return outcomes

    def check_form(self, form: FormInput) -> dict[str, str]:
        """Field key -> what is wrong, for a form not yet submitted (nothing is stored)."""
        errors: list[FieldError] = []
        if form.kind == "nomination":
            errors += parse_nomination_form(form.values, campaign=self.campaign, councils=self.councils).errors
        else:
            assert form.offer is not None
            draft = parse_form(form.offer, form.values, campaign=self.campaign, councils=self.councils)
            errors += draft.errors + missing_required(self.campaign, draft.offer, draft.values)
        problems: dict[str, str] = {}
        for error in errors:
            problems.setdefault(error.field, error.message)
        return problems

    async def export(self) -> dict[str, list[dict[str, Any]]]:
        async with self.store.reader() as unit:
            submissions = await unit.submissions.all()
            nominations = await unit.nominations.all()
            enquiries = await unit.enquiries.all()
            kept = [row.inbound_id for row in [*submissions, *nominations] if row.inbound_id is not None]
            proofs = await unit.inbound.authentications(kept)
        return records(submissions, nominations, enquiries, self.councils, proofs=proofs)

    async def listed_records(self) -> dict[str, list[dict[str, Any]]]:
        """`export()`'s submissions and nominations, without the questions and the sender
        checks the team's list of entries does not show."""
        async with self.store.reader() as unit:
            submissions = await unit.submissions.all()
            nominations = await unit.nominations.all()
        return records(submissions, nominations, [], self.councils)

    async def active_records(self) -> dict[str, list[dict[str, Any]]]:
        """`export()`'s submission records of the entries still in play, alone (the
        decisions download reads these, not every nomination and question)."""
        async with self.store.reader() as unit:
            submissions = await unit.submissions.all(status="active")
        return records(submissions, [], [], self.councils)

    async def records_of(self, reference: str) -> dict[str, list[dict[str, Any]]]:
        """`export()`'s records of one reference alone (a page about one entry reads
        that entry, not the whole campaign)."""
        async with self.store.reader() as unit:
            submission = await unit.submissions.by_reference(reference)
            submissions = [submission] if submission is not None else []
            nominations = [] if submissions else [n for n in await unit.nominations.by_reference(reference) if n.current]
            kept = [row.inbound_id for row in [*submissions, *nominations] if row.inbound_id is not None]
            proofs = await unit.inbound.authentications(kept)
        return records(submissions, nominations, [], self.councils, proofs=proofs)

    def when(self, moment: datetime) -> str:
        return when(moment, self.campaign)
