"""The use cases: keep, process (receive, amend, withdraw, answer, record an enquiry),
and the read-only views (status, leads, export).

Every channel hands an `Inbound` to `keep`/`receive` and gets an `Outcome` back. Email
replies are recorded in the outbox in the same transaction as the change they report, so
a reply is never lost and never sent twice; Slack replies are returned for the bot to post.
"""
from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from intake.campaign import Campaign, Offer
from intake.councils import REGIONS, Council, CouncilRegister
from intake.mail.extract import read_email
from intake.messages import FormInput, Inbound, Outcome, Reply, storable
from intake.models import Draft, Enquiry, InboundMessage, Nomination, OutboundMessage, Submission
from intake.parsing import (
    FieldError,
    NominationDraft,
    Parsed,
    Query,
    SubmissionDraft,
    Value,
    apply_defaults,
    missing_required,
    parse_form,
    parse_message,
    parse_nomination_form,
)
from intake.replies import (
    deadline_view,
    display,
    errors_view,
    form_view,
    leads_view,
    nomination_form_view,
    nomination_view,
    submission_view,
    when,
)
from intake.store import Kept, Store, Unit

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ReplyOutbox(Protocol):
    """Turns an email `Reply` into an outbound row (rendered, addressed, threaded)."""

    def build(self, reply: Reply, *, inbound: InboundMessage, incoming: Incoming) -> OutboundMessage | None: ...


@dataclass
class Incoming:
    """A kept message, read back into what the parser and the rules need."""

    channel: str
    sender: str | None
    reply_to: str | None
    subject: str
    text: str
    message_id: str | None = None
    thread_ids: list[str] = field(default_factory=list)  # In-Reply-To + References
    automatic: str | None = None
    form: FormInput | None = None
    admin: bool = False
    # Open drafts this message answers, by offer (see IntakeService._follow_up).
    completing: dict[str, Draft] = field(default_factory=dict)


@dataclass
class _Receipt:
    """What one message changed, gathered into a single reply."""

    recorded: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    incomplete: list[dict[str, Any]] = field(default_factory=list)
    nominations: list[dict[str, Any]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


class IntakeService:
    def __init__(
        self,
        *,
        store: Store,
        campaign: Campaign,
        councils: CouncilRegister,
        outbox: ReplyOutbox | None = None,
        clock: Callable[[], datetime] = utcnow,
        intake_address: str = "eoi@localhost",
        on_outbound: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.campaign = campaign
        self.councils = councils
        self.outbox = outbox
        self.clock = clock
        self.intake_address = intake_address
        self.on_outbound = on_outbound

    # --- keeping and processing --------------------------------------------------------

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

    async def identify(self, inbound_id: int, *, sender: str | None, admin: bool = False) -> None:
        """Who sent a message kept before we knew (a Slack event is kept before the
        profile lookup that tells us the user's email)."""
        async with self.store.unit() as unit:
            inbound = await unit.inbound(inbound_id)
            if inbound is not None and inbound.status == "received":
                inbound.sender = (sender or "").lower() or None
                inbound.meta = {**(inbound.meta or {}), "admin": admin}

    async def receive(self, inbound: Inbound) -> Outcome:
        kept = await self.keep(inbound)
        if kept.duplicate:
            return Outcome(kept.id, "duplicate", duplicate=True)
        return await self.process(kept.id)

    async def process_pending(self) -> list[Outcome]:
        """Process every kept message not yet processed (after a restart)."""
        async with self.store.reader() as unit:
            ids = await unit.inbound_ids(status="received")
        return [await self.process(inbound_id) for inbound_id in ids]

    async def replay(self, ids: Sequence[int] | None = None) -> list[Outcome]:
        """Process stored messages again (after a parser fix). Changes nothing that is
        already right: records are keyed by their inbound message, replies by kind."""
        if ids is None:
            async with self.store.reader() as unit:
                ids = await unit.inbound_ids()
        return [await self.process(inbound_id, again=True) for inbound_id in ids]

    async def process(self, inbound_id: int, *, again: bool = False) -> Outcome:
        try:
            # Reading and parsing are pure and take the most time: do them before taking
            # the write transaction, so arriving messages are not kept waiting behind them.
            async with self.store.reader() as reader:
                inbound = await reader.inbound(inbound_id)
            if inbound is None:
                return Outcome(inbound_id, "missing")
            if inbound.status != "received" and not again:
                return Outcome(inbound_id, inbound.classification or inbound.status, duplicate=True)
            incoming = self.read(inbound)
            parsed = self._parse(incoming)
            async with self.store.unit() as unit:
                inbound = await unit.claim_inbound(inbound_id)
                if inbound is None or (inbound.status != "received" and not again):
                    return Outcome(inbound_id, "processed elsewhere", duplicate=True)
                outcome = await self._apply(unit, inbound, incoming, parsed)
                if self.outbox and inbound.channel == "email":
                    await self._record_email_replies(unit, inbound, incoming, outcome.replies)
            if self.on_outbound and inbound.channel == "email" and outcome.replies:
                self.on_outbound()
            return outcome
        except Exception:
            # Our failure, not the sender's: keep the message, record why, retry on replay.
            log.exception("processing inbound message %s failed", inbound_id)
            async with self.store.unit() as unit:
                inbound = await unit.inbound(inbound_id)
                if inbound is not None:
                    await unit.mark_inbound(
                        inbound,
                        status="failed",
                        classification="failed",
                        detail=traceback.format_exc(limit=5),
                        at=self.clock(),
                    )
            return Outcome(inbound_id, "failed")

    def read(self, inbound: InboundMessage) -> Incoming:
        meta = inbound.meta or {}
        if inbound.channel == "email":
            content = read_email(inbound.raw, envelope_from=meta.get("envelope_from"))
            return Incoming(
                channel="email",
                sender=storable(content.sender) or inbound.sender,
                reply_to=storable(content.reply_to),
                subject=storable(content.subject) or "",
                text=storable(content.new_text) or "",
                message_id=content.message_id,
                thread_ids=[i for i in (content.in_reply_to, *content.references) if i],
                automatic=content.automatic,
            )
        form = meta.get("form")
        return Incoming(
            channel=inbound.channel,
            sender=inbound.sender,
            reply_to=None,
            subject=inbound.subject,
            text=meta.get("text") or "",
            form=FormInput(kind=form["kind"], values=form["values"], offer=form.get("offer")) if form else None,
            admin=bool(meta.get("admin")),
        )

    # --- the rules -----------------------------------------------------------------------

    def _parse(self, incoming: Incoming) -> Parsed | None:
        if incoming.automatic:
            return None
        if incoming.form is not None:
            return self._parse_form(incoming.form)
        return parse_message(incoming.subject, incoming.text, campaign=self.campaign, councils=self.councils)

    async def _apply(
        self, unit: Unit, inbound: InboundMessage, incoming: Incoming, parsed: Parsed | None
    ) -> Outcome:
        now = self.clock()
        if parsed is None:
            await unit.mark_inbound(
                inbound, status="ignored", classification="automatic", detail=incoming.automatic, at=now
            )
            return Outcome(inbound.id, "automatic")

        if incoming.form is None:
            parsed = await self._follow_up(unit, inbound, incoming, parsed)

        handler = {
            "withdraw": self._withdraw,
            "amend": self._amend,
            "submission": self._submissions,
            "nomination": self._submissions,
            "query": self._query,
        }.get(parsed.kind, self._enquiry)
        replies, notices = await handler(unit, inbound, incoming, parsed)
        for reply in replies:
            reply.context.update(self._common_context(incoming))
        await unit.mark_inbound(inbound, status="processed", classification=parsed.kind, detail=None, at=now)
        return Outcome(inbound.id, parsed.kind, replies=replies, notices=notices)

    def _parse_form(self, form: FormInput) -> Parsed:
        if form.kind == "nomination":
            draft = parse_nomination_form(form.values, campaign=self.campaign, councils=self.councils)
            return Parsed(kind="nomination", nominations=[draft])
        assert form.offer is not None
        draft = parse_form(form.offer, form.values, campaign=self.campaign, councils=self.councils)
        return Parsed(kind="submission", submissions=[draft])

    def check_form(self, form: FormInput) -> dict[str, str]:
        """Field key -> what is wrong, for a form not yet submitted (nothing is stored)."""
        parsed = self._parse_form(form)
        errors: list[FieldError] = []
        for draft in parsed.submissions:
            errors += draft.errors + missing_required(self.campaign, draft.offer, draft.values)
        for nomination in parsed.nominations:
            errors += nomination.errors
        problems: dict[str, str] = {}
        for error in errors:
            problems.setdefault(error.field, error.message)
        return problems

    async def _follow_up(
        self, unit: Unit, inbound: InboundMessage, incoming: Incoming, parsed: Parsed
    ) -> Parsed:
        """A reply to our "what's missing" message completes the submission it was about."""
        if parsed.kind in ("withdraw", "amend", "nomination"):
            return parsed
        drafts = await unit.drafts_answered_by(incoming.thread_ids)
        if not drafts and parsed.kind == "submission" and incoming.sender:
            offers = {d.offer for d in parsed.submissions}
            drafts = [
                d for d in await unit.open_drafts(incoming.sender, before_inbound=inbound.id) if d.offer in offers
            ]
        if not drafts:
            return parsed
        merged: list[SubmissionDraft] = []
        for draft in {d.offer: d for d in sorted(drafts, key=lambda d: d.id)}.values():
            offer = self.campaign.offer(draft.offer)
            reread = parse_message(
                f"{offer.short_title} {incoming.subject}", incoming.text, campaign=self.campaign, councils=self.councils
            )
            new = next((s for s in reread.submissions if s.offer == draft.offer), None)
            if new is None:
                continue
            values = {**draft.fields, **new.values}
            merged.append(SubmissionDraft(offer=draft.offer, values=values, errors=new.errors))
            incoming.completing[draft.offer] = draft
        if not merged:
            return parsed
        others = [s for s in parsed.submissions if s.offer not in {m.offer for m in merged}]
        return Parsed(kind="submission", submissions=merged + others, references=parsed.references, text=parsed.text)

    async def _submissions(
        self, unit: Unit, inbound: InboundMessage, incoming: Incoming, parsed: Parsed
    ) -> tuple[list[Reply], list[str]]:
        receipt = _Receipt()
        for draft in parsed.submissions:
            await self._one_submission(unit, inbound, incoming, draft, receipt)
        for nomination in parsed.nominations:
            await self._one_nomination(unit, inbound, incoming, nomination, receipt)
        # Drafts that were being completed by this message and did not get there stay open.
        kind = "ack" if (receipt.recorded or receipt.updated or receipt.nominations) else "missing"
        context = {
            "recorded": receipt.recorded,
            "updated": receipt.updated,
            "incomplete": receipt.incomplete,
            "nominations": receipt.nominations,
        }
        return [Reply(kind=kind, context=context)], receipt.notices

    async def _one_submission(
        self,
        unit: Unit,
        inbound: InboundMessage,
        incoming: Incoming,
        draft: SubmissionDraft,
        receipt: _Receipt,
    ) -> None:
        now = self.clock()
        if not any(o.key == draft.offer for o in self.campaign.offers):
            receipt.incomplete.append(self._which_offer(draft, incoming))
            return
        offer = self.campaign.offer(draft.offer)
        values = apply_defaults(
            self.campaign, offer.key, draft.values, sender=incoming.sender, councils=self.councils
        )
        errors = list(draft.errors) + missing_required(self.campaign, offer.key, values)
        answered = incoming.completing.get(offer.key)
        if answered is not None:
            # Complete now, or keep what we have so far for the next follow-up.
            if errors:
                answered.fields = _jsonable(values)
            else:
                answered.status = "completed"
        if errors:
            stored = await unit.draft_from(inbound.id, offer.key)
            if stored is None:
                stored = await unit.add(
                    Draft(
                        offer=offer.key,
                        sender=incoming.sender,
                        channel=inbound.channel,
                        fields=_jsonable(values),
                        created_at=now,
                        inbound_id=inbound.id,
                    )
                )
            else:
                stored.fields = _jsonable(values)
            receipt.incomplete.append(
                {
                    "offer": offer.key,
                    "offer_title": offer.title,
                    "offer_short_title": offer.short_title,
                    "errors": errors_view(errors, self.campaign, offer),
                    "form": form_view(self.campaign, offer, values, self.councils),
                    "deadline": deadline_view(offer, self.campaign, now),
                }
            )
            return

        council = self.councils.get(str(values["council"]))
        assert council is not None
        allowed = self._may_change(incoming, council, None)
        existing = await unit.submission_from(inbound.id, offer.key)
        if existing is None and allowed:
            active = await unit.submissions(council_code=council.code, offer=offer.key, status="active")
            existing = active[-1] if active else None
            if existing is not None:
                changes = self._set_fields(existing, offer, values, now)
                if changes:
                    await unit.audit(
                        at=now, actor=incoming.sender, action="amended", entity="submission",
                        entity_id=existing.id, reference=existing.reference,
                        detail={"changes": changes, "via": "resubmission"}, inbound_id=inbound.id,
                    )
                receipt.updated.append(self._submission_context(existing, now, changes))
                return
        if existing is None:
            existing = await self._create_submission(unit, inbound, incoming, offer, council, values)
            receipt.notices.append(
                f"{existing.reference}: {offer.short_title} from {council.name}"
                + (" (late)" if existing.late else "")
                + ("" if existing.verified else " (unverified sender)")
            )
        receipt.recorded.append(self._submission_context(existing, now, {}))

    def _which_offer(self, draft: SubmissionDraft, incoming: Incoming) -> dict[str, Any]:
        """Fields without an offer we can tell: ask which, with the common form filled."""
        values = {**draft.values}
        for spec in self.campaign.common_fields:
            if spec.key == "contact_email" and spec.key not in values and incoming.sender:
                values[spec.key] = incoming.sender
        errors = list(draft.errors) or [FieldError("offer", "Which offer is this expression of interest for?")]
        choices = " / ".join(o.short_title for o in self.campaign.offers)
        lines = [f"Offer: ({choices})"] + [
            f"{spec.title}: {display(spec, values.get(spec.key), self.councils)}"
            for spec in self.campaign.common_fields
        ]
        return {
            "offer": "",
            "offer_title": "Expression of interest",
            "offer_short_title": "Expression of interest",
            "errors": errors_view(errors, self.campaign, None),
            "form": {"offer": "", "title": "Expression of interest", "rows": [], "lines": lines},
            "deadline": None,
        }

    async def _create_submission(
        self,
        unit: Unit,
        inbound: InboundMessage,
        incoming: Incoming,
        offer: Offer,
        council: Council,
        values: dict[str, Value],
    ) -> Submission:
        number = await unit.next_number(offer.reference_prefix)
        verified = incoming.admin or self.councils.owns_address(council, incoming.sender)
        submission = await unit.add(
            Submission(
                reference=f"{offer.reference_prefix}-{number:04d}",
                offer=offer.key,
                council_code=council.code,
                contact_name=str(values.get("contact_name", "")),
                contact_email=str(values.get("contact_email", "")),
                sender=incoming.sender,
                channel=inbound.channel,
                received_at=inbound.received_at,
                updated_at=inbound.received_at,
                late=self.campaign.is_late(offer.key, inbound.received_at),
                verified=verified,
                status="active",
                fields=_jsonable(values),
                inbound_id=inbound.id,
            )
        )
        await unit.audit(
            at=self.clock(), actor=incoming.sender, action="created", entity="submission",
            entity_id=submission.id, reference=submission.reference,
            detail={"fields": _jsonable(values), "late": submission.late, "verified": verified},
            inbound_id=inbound.id,
        )
        return submission

    def _set_fields(self, submission: Submission, offer: Offer, values: dict[str, Value], now: datetime) -> dict[str, Any]:
        """Apply new values; returns {field: [old, new]} for what changed."""
        changes: dict[str, Any] = {}
        fields = dict(submission.fields)
        for key, value in _jsonable(values).items():
            if fields.get(key) != value:
                changes[key] = [fields.get(key), value]
                fields[key] = value
        if changes:
            submission.fields = fields
            submission.contact_name = str(fields.get("contact_name", submission.contact_name))
            submission.contact_email = str(fields.get("contact_email", submission.contact_email))
            if "council" in changes:
                submission.council_code = str(fields["council"])
            submission.updated_at = now
        return changes

    def _submission_context(self, submission: Submission, now: datetime, changes: dict[str, Any]) -> dict[str, Any]:
        view = submission_view(submission, self.campaign, self.councils, now)
        offer = self.campaign.offer(submission.offer)
        titles = {spec.key: spec.title for spec in self.campaign.fields_for(offer)}
        view["changes"] = [titles.get(key, key) for key in changes]
        view["capacity"] = offer.capacity
        return view

    async def _one_nomination(
        self,
        unit: Unit,
        inbound: InboundMessage,
        incoming: Incoming,
        draft: NominationDraft,
        receipt: _Receipt,
    ) -> None:
        nomination = self.campaign.nomination
        now = self.clock()
        errors = list(draft.errors)
        if draft.region is None or not draft.people:
            if draft.region is None and not any(e.field == "region" for e in errors):
                errors.append(FieldError("region", "Which region is this nomination for?"))
            if not draft.people:
                errors.append(
                    FieldError("roles", "Name at least one of: " + ", ".join(r.title for r in nomination.roles))
                )
            receipt.incomplete.append(self._nomination_incomplete(errors, now))
            return
        bad_roles = {e.field.partition(".")[0] for e in errors}
        people = [p for p in draft.people if p.role not in bad_roles and p.name]
        kept = await unit.nominations_from(inbound.id)
        if not kept and people:
            number = await unit.next_number(nomination.reference_prefix)
            reference = f"{nomination.reference_prefix}-{number:04d}"
            sender_council = self.councils.by_email(incoming.sender)
            verified = incoming.admin or (sender_council is not None and sender_council.region == draft.region)
            late = self.campaign.is_late(nomination.key, inbound.received_at)
            for person in people:
                await unit.supersede(draft.region, person.role)
                row = await unit.add(
                    Nomination(
                        reference=reference, region=draft.region, role=person.role, name=person.name or "",
                        council_code=person.council_code, email=person.email, sender=incoming.sender,
                        channel=inbound.channel, received_at=inbound.received_at, late=late,
                        verified=verified, current=True, inbound_id=inbound.id,
                    )
                )
                await unit.audit(
                    at=now, actor=incoming.sender, action="nominated", entity="nomination", entity_id=row.id,
                    reference=reference, detail={"region": draft.region, "role": person.role, "name": row.name},
                    inbound_id=inbound.id,
                )
                kept.append(row)
            receipt.notices.append(
                f"{reference}: regional leads for {draft.region} ("
                + ", ".join(nomination.role(p.role).title for p in people) + ")"
            )
        if kept:
            current = await unit.nominations(region=draft.region)
            view = nomination_view(kept[0].reference, draft.region, kept, current, self.campaign, self.councils, now)
            view["errors"] = errors_view(errors, self.campaign, None)
            receipt.nominations.append(view)
        if errors:
            receipt.incomplete.append(self._nomination_incomplete(errors, now))

    def _nomination_incomplete(self, errors: list[FieldError], now: datetime) -> dict[str, Any]:
        nomination = self.campaign.nomination
        return {
            "offer": nomination.key,
            "offer_title": nomination.title,
            "offer_short_title": nomination.short_title,
            "errors": errors_view(errors, self.campaign, None),
            "form": nomination_form_view(self.campaign),
            "deadline": deadline_view(nomination, self.campaign, now),
        }

    def _may_change(self, incoming: Incoming, council: Council, submission: Submission | None) -> bool:
        if incoming.admin:
            return True
        if submission is not None and incoming.sender and submission.sender == incoming.sender:
            return True
        return self.councils.owns_address(council, incoming.sender)

    async def _find_reference(
        self, unit: Unit, reference: str
    ) -> Submission | list[Nomination] | None:
        submission = await unit.submission(reference)
        if submission is not None:
            return submission
        nominations = await unit.nominations_by_reference(reference)
        return nominations or None

    async def _withdraw(
        self, unit: Unit, inbound: InboundMessage, incoming: Incoming, parsed: Parsed
    ) -> tuple[list[Reply], list[str]]:
        now = self.clock()
        done, refused, unknown, notices = [], [], [], []
        for reference in parsed.references:
            found = await self._find_reference(unit, reference)
            if not isinstance(found, Submission):
                unknown.append(reference)
                continue
            council = self.councils.get(found.council_code)
            if council is None or not self._may_change(incoming, council, found):
                refused.append(self._submission_context(found, now, {}))
                continue
            if found.status != "withdrawn":
                found.status = "withdrawn"
                found.updated_at = now
                await unit.audit(
                    at=now, actor=incoming.sender, action="withdrawn", entity="submission",
                    entity_id=found.id, reference=found.reference, inbound_id=inbound.id,
                )
                notices.append(f"{found.reference} withdrawn by {incoming.sender}")
            done.append(self._submission_context(found, now, {}))
        context = {"withdrawn": done, "refused": refused, "unknown": unknown}
        return [Reply(kind="withdrawn" if done else "refused", context=context)], notices

    async def _amend(
        self, unit: Unit, inbound: InboundMessage, incoming: Incoming, parsed: Parsed
    ) -> tuple[list[Reply], list[str]]:
        now = self.clock()
        amended, refused, unknown = [], [], []
        for reference in parsed.references:
            found = await self._find_reference(unit, reference)
            if isinstance(found, list):
                # A nomination reference with new details is a fresh nomination for that region.
                replies, notices = await self._submissions(unit, inbound, incoming, parsed)
                return replies, notices
            if found is None:
                unknown.append(reference)
                continue
            council = self.councils.get(found.council_code)
            if council is None or not self._may_change(incoming, council, found):
                refused.append(self._submission_context(found, now, {}))
                continue
            offer = self.campaign.offer(found.offer)
            draft = next((s for s in parsed.submissions if s.offer == found.offer), None)
            values = dict(draft.values) if draft else {}
            errors = list(draft.errors) if draft else []
            changes = self._set_fields(found, offer, values, now) if values else {}
            if changes:
                await unit.audit(
                    at=now, actor=incoming.sender, action="amended", entity="submission",
                    entity_id=found.id, reference=found.reference, detail={"changes": changes},
                    inbound_id=inbound.id,
                )
            view = self._submission_context(found, now, changes)
            view["errors"] = errors_view(errors, self.campaign, offer)
            view["form"] = form_view(self.campaign, offer, found.fields, self.councils)
            amended.append(view)
        context = {"amended": amended, "refused": refused, "unknown": unknown}
        kind = "amended" if amended else "refused"
        return [Reply(kind=kind, context=context)], []

    async def _query(
        self, unit: Unit, inbound: InboundMessage, incoming: Incoming, parsed: Parsed
    ) -> tuple[list[Reply], list[str]]:
        assert parsed.query is not None
        return [await self.answer(parsed.query, sender=incoming.sender, unit=unit)], []

    async def answer(self, query: Query, *, sender: str | None, unit: Unit | None = None) -> Reply:
        """The answer to a question, from the campaign and the database."""
        if unit is None:
            async with self.store.reader() as reader:
                return await self.answer(query, sender=sender, unit=reader)
        now = self.clock()
        council = self.councils.by_email(sender)
        if query.kind == "deadline" and query.offer:
            target = (
                self.campaign.nomination
                if query.offer == self.campaign.nomination.key
                else self.campaign.offer(query.offer)
            )
            return Reply("deadline", {"target": deadline_view(target, self.campaign, now)})
        if query.kind in ("deadline", "deadlines"):
            targets = [deadline_view(t, self.campaign, now) for t in self.campaign.targets()]
            return Reply("deadlines", {"targets": targets})
        if query.kind == "status":
            if council is None:
                return Reply("status", {"council": None, "submissions": [], "leads": None})
            submissions = await unit.submissions(council_code=council.code)
            grid = leads_view(await unit.nominations(region=council.region), self.campaign, self.councils, [council.region])
            answered = {s.offer for s in submissions if s.status == "active"}
            return Reply(
                "status",
                {
                    "council": council.name,
                    "region": council.region,
                    "submissions": [self._submission_context(s, now, {}) for s in submissions],
                    "not_yet": [
                        deadline_view(o, self.campaign, now) for o in self.campaign.offers if o.key not in answered
                    ],
                    "leads": grid[0],
                },
            )
        if query.kind == "leads":
            grid = leads_view(
                await unit.nominations(region=query.region), self.campaign, self.councils,
                [query.region] if query.region else REGIONS,
            )
            return Reply("leads", {"region": query.region, "grid": grid})
        if query.kind == "form":
            prefill: dict[str, Value] = {}
            if query.offer and query.offer != self.campaign.nomination.key:
                offer = self.campaign.offer(query.offer)
                prefill = apply_defaults(self.campaign, offer.key, {}, sender=sender, councils=self.councils)
                forms = [form_view(self.campaign, offer, prefill, self.councils)]
            elif query.offer:
                forms = [nomination_form_view(self.campaign)]
            else:
                forms = [
                    form_view(self.campaign, o, apply_defaults(self.campaign, o.key, {}, sender=sender, councils=self.councils), self.councils)
                    for o in self.campaign.offers
                ] + [nomination_form_view(self.campaign)]
            return Reply("form", {"forms": forms})
        return Reply("help", {"targets": [deadline_view(t, self.campaign, now) for t in self.campaign.targets()]})

    async def _enquiry(
        self, unit: Unit, inbound: InboundMessage, incoming: Incoming, parsed: Parsed
    ) -> tuple[list[Reply], list[str]]:
        existing = await unit.enquiry_from(inbound.id)
        # What they wrote; the subject stands in for an empty body.
        text = incoming.text.strip() or incoming.subject or parsed.text
        if existing is None:
            await unit.add(
                Enquiry(
                    sender=incoming.sender, channel=inbound.channel, text=text,
                    received_at=inbound.received_at, inbound_id=inbound.id,
                )
            )
        preview = " ".join(text.split())[:140]
        return [Reply("enquiry", {"text": text})], [f"Enquiry from {incoming.sender or 'unknown sender'}: {preview}"]

    def _common_context(self, incoming: Incoming) -> dict[str, Any]:
        council = self.councils.by_email(incoming.sender)
        return {
            "campaign_name": self.campaign.campaign.name,
            "team_name": self.campaign.campaign.team_name,
            "intake_address": self.intake_address,
            "sender": incoming.sender,
            "sender_council": council.name if council else None,
            "channel": incoming.channel,
            "subject": incoming.subject,
        }

    # --- email replies -------------------------------------------------------------------

    async def _record_email_replies(
        self, unit: Unit, inbound: InboundMessage, incoming: Incoming, replies: list[Reply]
    ) -> None:
        assert self.outbox is not None
        for reply in replies:
            row = self.outbox.build(reply, inbound=inbound, incoming=incoming)
            if row is None:
                log.info("inbound %s has no address to reply to", inbound.id)
                continue
            # One reply of each kind per message: a replay or a second worker sends nothing new.
            row.send_key = f"reply:{inbound.id}:{reply.kind}"
            row.inbound_id = inbound.id
            await unit.record_outbound(row)

    # --- reading -------------------------------------------------------------------------

    async def export(self) -> dict[str, list[dict[str, Any]]]:
        async with self.store.reader() as unit:
            submissions = await unit.submissions()
            nominations = await unit.nominations()
            enquiries = await unit.enquiries()
        return {
            "submissions": [self._export_submission(s) for s in submissions],
            "nominations": [self._export_nomination(n) for n in nominations],
            "enquiries": [
                {"sender": e.sender, "channel": e.channel, "text": e.text, "received_at": e.received_at.isoformat()}
                for e in enquiries
            ],
        }

    def _export_submission(self, submission: Submission) -> dict[str, Any]:
        council = self.councils.get(submission.council_code)
        return {
            "reference": submission.reference,
            "offer": submission.offer,
            "council_code": submission.council_code,
            "council": council.name if council else "",
            "region": council.region if council else "",
            "contact_name": submission.contact_name,
            "contact_email": submission.contact_email,
            "channel": submission.channel,
            "received_at": submission.received_at.isoformat(),
            "late": submission.late,
            "verified": submission.verified,
            "status": submission.status,
            "fields": submission.fields,
        }

    def _export_nomination(self, nomination: Nomination) -> dict[str, Any]:
        council = self.councils.get(nomination.council_code or "")
        return {
            "reference": nomination.reference,
            "region": nomination.region,
            "role": nomination.role,
            "name": nomination.name,
            "council_code": nomination.council_code,
            "council": council.name if council else "",
            "email": nomination.email,
            "channel": nomination.channel,
            "received_at": nomination.received_at.isoformat(),
            "late": nomination.late,
            "verified": nomination.verified,
        }

    def when(self, moment: datetime) -> str:
        return when(moment, self.campaign)


def _jsonable(values: dict[str, Value] | Any) -> dict[str, Any]:
    return json.loads(json.dumps(dict(values), default=str))
