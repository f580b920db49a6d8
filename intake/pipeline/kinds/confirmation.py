"""The confirmation kind: a reply carrying a token we sent to a contact on record. A
valid token confirms the change it was sent for, with no further proof (whoever holds
it read the contact's mail); the held message is then processed again and the change
made; "No" on its first line refuses it. A token works once, for `EXPIRY`."""
from __future__ import annotations

from intake.confirmations import EXPIRY, refuses
from intake.messages import Notice, Reply
from intake.models import Confirmation
from intake.pipeline.run import Run


async def handle(run: Run) -> None:
    token = run.msg.confirms
    found = await run.tx.confirmations.by_token(token) if token else None
    if found is None:
        run.replies.append(Reply(kind="confirm_unknown", context={}))
        return
    context = {"reference": found.reference, "summary": found.summary, "days": EXPIRY.days}
    if found.status in ("confirmed", "declined"):
        run.replies.append(Reply(kind="confirm_used", context=context))
        return
    if found.status == "expired" or found.expires_at <= run.now:
        found.status = "expired"
        run.replies.append(Reply(kind="confirm_expired", context=context))
        return
    if refuses(run.msg.text):
        await _decline(run, found)
        run.replies.append(Reply(kind="confirm_declined", context=context))
        return
    await _confirm(run, found)
    run.replies.append(Reply(kind="confirmed", context=context))


async def _decline(run: Run, found: Confirmation) -> None:
    found.status = "declined"
    found.confirmed_at = run.now
    found.confirmed_by = run.row.id
    run.tx.audit.record(
        at=run.now, actor=run.sender, action="declined", entity="confirmation", entity_id=found.id,
        reference=found.reference, detail={"summary": found.summary, "requester": found.requester},
        inbound_id=run.row.id,
    )
    run.notices.append(Notice(
        f"{found.reference or 'A held change'}: {found.summary} (asked by {found.requester}) refused by its contact"
    ))
    held = await run.tx.inbound.get(found.inbound_id)
    if held is not None and held.status == "held":
        held.status, held.detail = "refused", f"refused by the contact on record: {found.summary}"


async def _confirm(run: Run, found: Confirmation) -> None:
    found.status = "confirmed"
    found.confirmed_at = run.now
    found.confirmed_by = run.row.id
    run.tx.audit.record(
        at=run.now, actor=run.sender, action="confirmed", entity="confirmation", entity_id=found.id,
        reference=found.reference, detail={"summary": found.summary, "requester": found.requester},
        inbound_id=run.row.id,
    )
    run.notices.append(Notice(
        f"{found.reference or 'A held change'}: {found.summary} (asked by {found.requester}) confirmed by its contact"
    ))
    held = await run.tx.inbound.get(found.inbound_id)
    if held is not None and held.status == "held":
        # Received again: processed after this message (or at the next start, if we stop first).
        held.status = "received"
        run.follow_on.append(held.id)
