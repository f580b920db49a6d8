"""The team's actions on what could not go through on its own: messages that could not
be processed (run again with a council and offer assigned, or marked handled), incomplete
drafts, late entries, changes held for the team (a move to another council: made or
refused), replies that could not be delivered and bounces of our mail (send again, or
note the address as unreachable). Each is audited; the sender hears of what
changes for them."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from intake.messages import Outcome
from intake.models import IncompleteSubmission, InboundMessage, Nomination, Submission
from intake.pipeline.run import World
from intake.pipeline.steps import ASSIGNED
from intake.store import Store, Unit
from intake.team.desk import Done
from intake.team.telling import tell

# Messages a person may close: ours failed on them, they are stuck, or they are bounces.
OPEN = ("failed", "received", "ignored")


class Triage:
    def __init__(
        self, store: Store, world: World, *, reprocess: Callable[[int], Awaitable[Outcome]],
        on_outbound: Callable[[set[str]], None] | None = None,
    ) -> None:
        self.store = store
        self.world = world
        self.reprocess = reprocess
        self.on_outbound = on_outbound

    def _audit(self, unit: Unit, actor: str, action: str, entity: str, entity_id: int | None,
               detail: dict[str, Any], *, reference: str | None = None, inbound_id: int | None = None) -> None:
        unit.audit.record(at=self.world.clock(), actor=actor, action=action, entity=entity, entity_id=entity_id,
                          reference=reference, detail={"by": "the CIB team", **detail}, inbound_id=inbound_id)

    # --- messages ----------------------------------------------------------------------

    async def run_again(self, inbound_id: int, *, actor: str, council: str = "", offer: str = "") -> Done:
        """Process a kept message again, with the council and offer the team says it is
        about (when its text did not say so clearly). Its sender gets the usual answer."""
        # A code, or a name as the list offers it (typed, so read as any council name is).
        resolved = self.world.councils.resolve(council) if council else None
        found = resolved.council if resolved else None
        if resolved is not None and found is None:
            if resolved.candidates:
                names = " or ".join(c.name for c in resolved.candidates[:3])
                return Done(False, f"Which council: {names}? Choose one from the list.")
            return Done(False, "Choose a council from the list.")
        known = {o.key: o for o in self.world.campaign.offers}
        if offer and offer not in known:
            return Done(False, "Choose an offer from the list.")
        async with self.store.unit() as unit:
            row = await unit.inbound.get(inbound_id)
            if row is None:
                return Done(False, "No such message.")
            assigned = {k: v for k, v in (("council", found.name if found else ""),
                                           ("offer", known[offer].title if offer else "")) if v}
            row.meta = {**(row.meta or {}), ASSIGNED: assigned}
            self._audit(unit, actor, "ran-again", "message", row.id, assigned, inbound_id=row.id)
        outcome = await self.reprocess(inbound_id)
        what = outcome.classification
        if outcome.replies:
            what += " (" + ", ".join(r.kind for r in outcome.replies) + " sent)"
        return Done(outcome.classification != "failed", f"Message {inbound_id} was processed again: {what}.",
                    bool(outcome.replies))

    async def close_message(self, inbound_id: int, *, actor: str, note: str = "") -> Done:
        async with self.store.unit() as unit:
            row = await unit.inbound.get(inbound_id)
            if row is None:
                return Done(False, "No such message.")
            if row.status not in OPEN:
                return Done(True, f"Message {inbound_id} is {row.status}; nothing changed.")
            unit.inbound.mark(row, status="handled", classification=row.classification,
                              detail="; ".join(filter(None, [row.detail, f"handled by {actor}", note])),
                              at=self.world.clock())
            self._audit(unit, actor, "handled", "message", row.id, {"note": note}, inbound_id=row.id)
        return Done(True, f"Message {inbound_id} is marked as handled.")

    # --- incomplete drafts -------------------------------------------------------------

    async def close_draft(self, draft_id: int, *, actor: str) -> Done:
        async with self.store.unit() as unit:
            draft = await unit.session.get(IncompleteSubmission, draft_id)
            if draft is None:
                return Done(False, "No such draft.")
            if draft.status != "open":
                return Done(True, "That draft is closed already; nothing changed.")
            draft.status = "closed"
            self._audit(unit, actor, "closed", "draft", draft.id, {"offer": draft.offer}, inbound_id=draft.inbound_id)
        return Done(True, "The draft is closed: no more reminders of what it lacks.")

    # --- late entries ------------------------------------------------------------------

    async def accept_late(self, reference: str, *, actor: str) -> Done:
        """Take an entry although it came after the deadline; the sender is told."""
        async with self.store.unit() as unit:
            found: Submission | list[Nomination] | None = await unit.submissions.by_reference(reference)
            if found is None:
                found = await unit.nominations.by_reference(reference) or None
            if found is None:
                return Done(False, f"No entry has the reference {reference.upper()}.")
            rows = [found] if isinstance(found, Submission) else [n for n in found if n.current]
            if not rows or not any(r.late for r in rows):
                return Done(False, f"{reference.upper()} is not late; nothing changed.")
            if all(r.late_accepted for r in rows):
                return Done(True, f"{reference.upper()} was accepted already; nothing changed.")
            for row in rows:
                row.late_accepted = True
            entity = "submission" if isinstance(found, Submission) else "nomination"
            self._audit(unit, actor, "late-accepted", entity, rows[0].id, {}, reference=rows[0].reference)
            context = {"entry": {"reference": rows[0].reference}}
            told = await tell(unit, self.world, rows[0].inbound_id, "late_accepted", context,
                              key=f"team:late-accepted:{rows[0].reference}")
        if told is not None and self.on_outbound:
            self.on_outbound({rows[0].channel})
        return Done(True, f"{rows[0].reference} is accepted although late.", told is not None)

    # --- changes held for the team (a move to another council) --------------------------

    async def decide_held(self, confirmation_id: int, *, make: bool, actor: str) -> Done:
        """Make or refuse a change held for the team. Made: its message is processed again
        as if confirmed, and its sender gets the usual answer. Refused: nothing changes,
        and the sender is told."""
        async with self.store.unit() as unit:
            held = await unit.confirmations.get(confirmation_id)
            if held is None or held.waits_for != "team":
                return Done(False, "No such change waiting for the team.")
            what = held.reference or "the entry"
            if held.status != "pending":
                return Done(True, f"That change to {what} was {held.status} already; nothing changed.")
            held.status, held.confirmed_at = ("confirmed" if make else "declined"), self.world.clock()
            self._audit(unit, actor, "confirmed" if make else "declined", "confirmation", held.id,
                        {"summary": held.summary, "requester": held.requester}, reference=held.reference,
                        inbound_id=held.inbound_id)
            message = await unit.inbound.get(held.inbound_id)
            told = None
            if message is not None and message.status == "held":
                if make:
                    message.status = "received"  # processed again below, with the change allowed
                else:
                    message.status, message.detail = "refused", f"refused by the CIB team: {held.summary}"
                    told = await tell(unit, self.world, message.id, "team_refused",
                                      {"reference": held.reference, "summary": held.summary},
                                      key=f"team:refused:{held.id}")
            inbound_id, channel = held.inbound_id, message.channel if message else None
        if not make:
            if told is not None and self.on_outbound and channel:
                self.on_outbound({channel})
            return Done(True, f"The change to {what} is refused: nothing has changed.", told is not None)
        outcome = await self.reprocess(inbound_id)
        return Done(outcome.classification != "failed", f"{what} is changed as asked.", bool(outcome.replies), True)

    # --- our mail that did not arrive --------------------------------------------------

    async def send_again(self, outbound_id: int, *, actor: str) -> Done:
        async with self.store.unit() as unit:
            [row] = await unit.outbound.by_ids([outbound_id]) or [None]
            if row is None:
                return Done(False, "No such reply.")
            if row.status != "failed":
                return Done(True, f"That reply is {row.status}; nothing changed.")
            row.status, row.attempts, row.error, row.next_attempt_at = "pending", 0, None, self.world.clock()
            self._audit(unit, actor, "send-again", "outbound", row.id, {"to": row.recipient})
            channel = row.channel
        if self.on_outbound:
            self.on_outbound({channel})
        return Done(True, f"It will be sent again to {row.recipient} now.")

    async def unreachable(self, address: str, *, actor: str, reason: str = "",
                          outbound_id: int | None = None, inbound_id: int | None = None) -> Done:
        """Note an address our mail cannot reach: nothing scheduled goes to it any more,
        its failed replies are given up, and the bounce that said so is handled."""
        address = address.strip().lower()
        if "@" not in address:
            return Done(False, "Give the address that cannot be reached.")
        async with self.store.unit() as unit:
            noted = await unit.unreachable.note(address, at=self.world.clock(), by=actor, reason=reason)
            for row in await unit.outbound.failed():
                if row.recipient.lower() == address:
                    row.status = "abandoned"
            if inbound_id is not None:
                bounce: InboundMessage | None = await unit.inbound.get(inbound_id)
                if bounce is not None and bounce.status in OPEN:
                    unit.inbound.mark(bounce, status="handled", classification=bounce.classification,
                                      detail=f"{bounce.detail or ''}; {address} noted as unreachable".strip("; "),
                                      at=self.world.clock())
            self._audit(unit, actor, "unreachable", "address", outbound_id, {"address": address, "reason": reason},
                        inbound_id=inbound_id)
        if not noted:
            return Done(True, f"{address} was noted as unreachable already.")
        return Done(True, f"{address} is noted as unreachable: nothing scheduled will go to it. Call them instead.")
