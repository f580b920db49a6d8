"""The team's actions on entries. Each runs in one transaction: the change, its audit
entry, and the reply that tells the sender (by the channel they used) are committed
together or not at all."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from intake.models import AuditEntry, Nomination, Submission
from intake.pipeline.run import World
from intake.store import Store, Unit
from intake.team.telling import tell

DECISIONS = {"accept": "accepted", "decline": "declined", "waitlist": "waitlisted"}


@dataclass(frozen=True)
class Done:
    ok: bool
    message: str  # what happened, or why nothing did, in words for the team
    told: bool = False  # the sender was sent a reply
    changed: bool = False  # the entry changed (False: refused, or it already was so)


class TeamDesk:
    def __init__(self, store: Store, world: World, *, on_outbound: Callable[[set[str]], None] | None = None) -> None:
        self.store = store
        self.world = world
        self.on_outbound = on_outbound

    async def verify(self, reference: str, *, actor: str) -> Done:
        """The team has checked an unverified entry: it counts as the council's."""
        return await self._act(reference, actor, self._verify)

    async def reject(self, reference: str, *, actor: str, reason: str) -> Done:
        """Not a genuine entry (or not one the programme can take): out of every count."""
        if not reason.strip():
            return Done(False, "Say why: the sender is told the reason.")
        return await self._act(reference, actor, lambda unit, found, who: self._reject(unit, found, who, reason.strip()))

    async def decide(self, reference: str, decision: str, *, actor: str, note: str = "") -> Done:
        """Accept, decline or waitlist an expression of interest; an accepted one of an
        offer with places takes one (the database refuses more than the offer has)."""
        if decision not in DECISIONS:
            return Done(False, f"Decide one of: {', '.join(DECISIONS)}.")
        try:
            return await self._act(
                reference, actor, lambda unit, found, who: self._decide(unit, found, who, DECISIONS[decision], note)
            )
        except IntegrityError:  # another decision took the same place at the same moment
            return Done(False, f"{reference.upper()}: that place was taken meanwhile; nothing changed. Try again.")

    async def answer(self, enquiry_id: int, text: str, *, actor: str) -> Done:
        """Answer an enquiry: the answer goes to the sender by the channel they wrote by."""
        if not text.strip():
            return Done(False, "Write the answer first.")
        async with self.store.unit() as unit:
            enquiry = await unit.enquiries.get(enquiry_id)
            if enquiry is None:
                return Done(False, "No such enquiry.")
            if enquiry.handled_at is not None:
                return Done(False, f"That enquiry was already {'answered' if enquiry.answer else 'handled'}"
                                   f" by {enquiry.handled_by}; nothing was sent.")
            enquiry.handled_at, enquiry.handled_by, enquiry.answer = self.world.clock(), actor, text.strip()
            unit.audit.record(
                at=self.world.clock(), actor=actor, action="answered", entity="enquiry", entity_id=enquiry.id,
                detail={"by": "the CIB team", "answer": text.strip()}, inbound_id=enquiry.inbound_id,
            )
            context = {"answer": text.strip(), "asked": _gist(enquiry.text)}
            told = await tell(unit, self.world, enquiry.inbound_id, "answer", context, key=f"team:answer:{enquiry.id}")
        if told is not None and self.on_outbound:
            self.on_outbound({enquiry.channel})
        if told is None:
            return Done(True, "Recorded as answered, but the sender cannot be written to (no address).")
        return Done(True, "The answer is on its way to the sender.", True)

    async def handled(self, enquiry_id: int, *, actor: str) -> Done:
        """Mark an enquiry handled without a reply from here (answered by phone, say)."""
        async with self.store.unit() as unit:
            enquiry = await unit.enquiries.get(enquiry_id)
            if enquiry is None:
                return Done(False, "No such enquiry.")
            if enquiry.handled_at is not None:
                return Done(True, "That enquiry was already handled; nothing changed.")
            enquiry.handled_at, enquiry.handled_by = self.world.clock(), actor
            unit.audit.record(
                at=self.world.clock(), actor=actor, action="handled", entity="enquiry", entity_id=enquiry.id,
                detail={"by": "the CIB team"}, inbound_id=enquiry.inbound_id,
            )
        return Done(True, "Marked as handled.")

    async def audit(self, reference: str) -> list[AuditEntry]:
        async with self.store.reader() as unit:
            return await unit.audit.trail(reference)

    # --- the actions, inside the transaction ---------------------------------------------

    async def _act(self, reference: str, actor: str, action: Callable[..., Any]) -> Done:
        async with self.store.unit() as unit:
            found: Submission | list[Nomination] | None = await unit.submissions.by_reference(reference)
            if found is None:
                found = await unit.nominations.by_reference(reference) or None
            if found is None:
                return Done(False, f"No entry has the reference {reference.upper()}.")
            done, channel = await action(unit, found, actor)
        if done.told and channel and self.on_outbound:
            self.on_outbound({channel})
        return done

    async def _verify(self, unit: Unit, found: Submission | list[Nomination], actor: str) -> tuple[Done, str | None]:
        entry, reference = _first(found), _reference(found)
        if isinstance(found, Submission) and found.status != "active":
            return Done(False, f"{reference} is {found.status}; only an active entry is verified."), None
        if all(e.verified for e in _all(found)):
            return Done(True, f"{reference} is already verified; nothing changed."), None
        for e in _all(found):
            e.verified = True
        self._audit(unit, found, actor, "verified", {})
        context = {"entry": self._view(found)}
        told = await tell(unit, self.world, entry.inbound_id, "verified", context, key=f"team:verified:{reference}")
        return Done(True, f"{reference} is verified.", told is not None, changed=True), entry.channel

    async def _reject(
        self, unit: Unit, found: Submission | list[Nomination], actor: str, reason: str
    ) -> tuple[Done, str | None]:
        entry, reference = _first(found), _reference(found)
        if isinstance(found, Submission):
            if found.status != "active":
                return Done(False, f"{reference} is {found.status}; nothing changed."), None
            found.status, found.decision, found.place = "rejected", None, None
            found.updated_at = self.world.clock()
        else:
            if not any(n.current for n in found):
                return Done(False, f"{reference} no longer names anyone current; nothing changed."), None
            for n in found:
                n.current = False
        self._audit(unit, found, actor, "rejected", {"reason": reason})
        context = {"entry": self._view(found), "reason": reason}
        told = await tell(unit, self.world, entry.inbound_id, "rejected", context,
                          key=f"team:rejected:{reference}")
        return Done(True, f"{reference} is rejected.", told is not None, changed=True), entry.channel

    async def _decide(
        self, unit: Unit, found: Submission | list[Nomination], actor: str, decision: str, note: str
    ) -> tuple[Done, str | None]:
        if not isinstance(found, Submission):
            return Done(False, "Decisions are on expressions of interest; a nomination is verified or rejected."), None
        reference = found.reference
        if found.status != "active":
            return Done(False, f"{reference} is {found.status}; only an active entry is decided."), None
        if decision == "accepted" and not found.verified:
            return Done(False, f"{reference} is unverified: verify it (or reject it) first."), None
        if found.decision == decision:
            return Done(True, f"{reference} is already {decision}; nothing changed."), None
        offer = self.world.campaign.offer(found.offer)
        found.place = None
        if decision == "accepted" and offer.capacity:
            await unit.places.ensure(offer.key, offer.capacity)
            await unit.session.flush()
            place = await unit.places.free(offer.key)
            if place is None:
                return Done(False, f"{reference}: all {offer.capacity} places for {offer.short_title} are taken. "
                                   "Decline or waitlist one first."), None
            found.place = place
        found.decision, found.decided_at = decision, self.world.clock()
        await unit.session.flush()  # the database checks the place here
        self._audit(unit, found, actor, "decided", {"decision": decision, "note": note, "place": found.place})
        context = {"entry": self._view(found), "decision": decision, "note": note, "capacity": offer.capacity}
        told = await tell(unit, self.world, found.inbound_id, "decision", context,
                          key=f"team:decision:{reference}:{decision}:{found.decided_at.isoformat()}")
        taken = f" (place {found.place} of {offer.capacity})" if found.place else ""
        return Done(True, f"{reference} is {decision}{taken}.", told is not None, changed=True), found.channel

    def _audit(
        self, unit: Unit, found: Submission | list[Nomination], actor: str, action: str, detail: dict[str, Any]
    ) -> None:
        entity = "submission" if isinstance(found, Submission) else "nomination"
        unit.audit.record(
            at=self.world.clock(), actor=actor, action=action, entity=entity, entity_id=_first(found).id,
            reference=_reference(found), detail={"by": "the CIB team", **detail},
        )

    def _view(self, found: Submission | list[Nomination]) -> dict[str, Any]:
        """What the sender is reminded of: the reference and what it is, nothing more."""
        if isinstance(found, Submission):
            offer = self.world.campaign.offer(found.offer)
            council = self.world.councils.get(found.council_code)
            return {"reference": found.reference, "what": offer.title, "council": council.name if council else ""}
        spec = self.world.campaign.nomination
        return {"reference": _reference(found), "what": f"{spec.title}, {found[0].region}", "council": ""}


def _gist(text: str, limit: int = 120) -> str:
    """The start of what was asked, on one line, to remind the sender which message."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _all(found: Submission | list[Nomination]) -> list[Any]:
    return [found] if isinstance(found, Submission) else list(found)


def _first(found: Submission | list[Nomination]) -> Any:
    return found if isinstance(found, Submission) else found[0]


def _reference(found: Submission | list[Nomination]) -> str:
    return _first(found).reference
