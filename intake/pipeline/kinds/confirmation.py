"""The confirmation kind: a reply carrying a token we sent to a contact on record (or to
a council's listed contact, told of a change of who controls its entry). "Yes" on its
first line confirms the change it was sent for, with no further proof (whoever holds it
read the contact's mail); the held message is then processed again and the change made.
"No" on its first line refuses it. Anything else (an empty reply, a helpdesk's
acknowledgement) confirms nothing: the first such reply is told how to answer, later ones
are kept unanswered. A token works once, for `EXPIRY`."""
from __future__ import annotations

from intake.parsing.confirmation_tokens import EXPIRY, agrees, refuses
from intake.messages import Notice, Reply
from intake.models import Confirmation
from intake.pipeline.run import Run
from intake.reports.reply_data import when


async def handle(run: Run) -> None:
    token = run.msg.confirms
    found = await run.tx.confirmations.by_token(token) if token else None
    if found is None or found.waits_for != "contact":  # the team's holds are never mailed
        run.replies.append(Reply(kind="confirm_unknown", context={}))
        return
    context = {"reference": found.reference, "summary": found.summary, "days": EXPIRY.days,
               "expires": when(found.expires_at, run.world.campaign)}
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
    if not agrees(run.msg.text):
        if found.nudged_at is None:
            found.nudged_at = run.now
            run.replies.append(Reply(kind="confirm_unclear", context=context))
        return
    await _confirm(run, found)
    run.replies.append(Reply(kind="confirmed", context=context))


def _who(run: Run, found: Confirmation) -> str:
    """Who answered, as the team reads it: the address the reply came from, and to whom
    the request went (the reply may come from anyone who holds the token)."""
    return f"{run.sender or 'an unknown sender'} (the request went to {found.contact})"


def _what(found: Confirmation) -> str:
    what = f"{found.reference or 'A held change'}: {found.summary} (asked by {found.requester})"
    return what + (", a change of who controls it," if found.control else "")


async def _decline(run: Run, found: Confirmation) -> None:
    found.status = "declined"
    found.confirmed_at = run.now
    found.confirmed_by = run.row.id
    run.tx.audit.record(
        at=run.now, actor=run.sender, action="declined", entity="confirmation", entity_id=found.id,
        reference=found.reference, detail={"summary": found.summary, "requester": found.requester},
        inbound_id=run.row.id,
    )
    run.notices.append(Notice(f"{_what(found)} refused by {_who(run, found)}"))
    held = await run.tx.inbound.get(found.inbound_id)
    if held is not None and held.status == "held":
        held.status, held.detail = "refused", f"refused in reply to the confirmation request: {found.summary}"


async def _confirm(run: Run, found: Confirmation) -> None:
    found.status = "confirmed"
    found.confirmed_at = run.now
    found.confirmed_by = run.row.id
    run.tx.audit.record(
        at=run.now, actor=run.sender, action="confirmed", entity="confirmation", entity_id=found.id,
        reference=found.reference, detail={"summary": found.summary, "requester": found.requester},
        inbound_id=run.row.id,
    )
    run.notices.append(Notice(f"{_what(found)} confirmed by {_who(run, found)}"))
    held = await run.tx.inbound.get(found.inbound_id)
    if held is not None and held.status == "held":
        # Received again: processed after this message (or at the next start, if we stop first).
        held.status = "received"
        run.follow_on.append(held.id)
