"""Asking for a held change to be confirmed: a `Confirmation` row with its one-time
token, an audit entry, a notice to the team, and the request itself, which goes out by
email (`Channels.confirmations`) whichever channel the change came by.

One change waits per entry: a request while another waits is not held (the requester is
told one is waiting), and neither the contact nor the team hears of it. A contact is
mailed `PER_CONTACT_A_DAY` requests a day at most. A change of the entry's contact email
(who controls it) is also told to the council's listed contacts, with the same token. A
move to another council waits for the team, and nobody is mailed."""
from __future__ import annotations

from datetime import timedelta

from intake.parsing.confirmation_tokens import EXPIRY, also_told, new_token, why_not_ask
from intake.messages import Notice
from intake.models import Confirmation, OutboundMessage
from intake.pipeline.run import Pending, Run
from intake.reports.reply_data import when

NOT_ASKED = {
    "waiting": "another change to it is already waiting for confirmation",
    "busy": "its contact has been asked to confirm enough changes today",
}


def entry_of(pending: Pending) -> str:
    """What "one change at a time" counts by: the entry's reference, or the target."""
    return pending.reference or pending.target


async def ask_contacts(run: Run) -> None:
    if not run.pending:
        return
    asked = {c.target for c in await run.tx.confirmations.for_inbound(run.row.id)}
    fresh = [p for p in run.pending if p.target not in asked]  # processed again: asked the first time
    await run.tx.confirmations.lock([entry_of(p) for p in fresh] + ["contact:" + p.contact for p in fresh])
    for pending in fresh:
        reason = await _why_not(run, pending)
        if reason is not None:
            pending.view["hold"] = reason
            run.pending.remove(pending)
            run.not_held.append(f"{entry_of(pending)}: not held, {NOT_ASKED[reason]}")
            continue
        await _ask(run, pending)


async def _why_not(run: Run, pending: Pending) -> str | None:
    waiting = []
    for other in await run.tx.confirmations.waiting_on(entry_of(pending), besides_inbound=run.row.id):
        if other.expires_at <= run.now and other.waits_for == "contact":
            other.status = "expired"  # lapsed: it no longer stands in the way
        else:
            waiting.append(other)
    since = run.now - timedelta(days=1)
    today = 0 if pending.by_team else await run.tx.confirmations.asked_since(pending.contact, since)
    return why_not_ask(waiting=len(waiting), asked_today=today, by_team=pending.by_team)


async def _ask(run: Run, pending: Pending) -> None:
    confirmation = await run.tx.add(
        Confirmation(
            token=new_token(), inbound_id=run.row.id, target=pending.target, reference=pending.reference,
            contact=pending.contact, requester=run.sender, summary=pending.summary,
            created_at=run.now, expires_at=run.now + EXPIRY, status="pending",
            waits_for="team" if pending.by_team else "contact", control=pending.control,
        )
    )
    proof = run.authentication.describe() if run.authentication else "not proven"
    listed = _listed(run, pending)
    run.tx.audit.record(
        at=run.now, actor=run.sender, action="held", entity="confirmation", entity_id=confirmation.id,
        reference=pending.reference,
        detail={"summary": pending.summary, "contact": pending.contact or "the CIB team", "sender": proof,
                **({"told": ", ".join(listed)} if listed else {})},
        inbound_id=run.row.id,
    )
    run.notices.append(Notice(_held_notice(run, pending, proof, listed)))
    if pending.by_team:
        return
    for n, to in enumerate([pending.contact, *listed]):
        request = _request(run, pending, confirmation, to=to, listed=n > 0)
        if request is not None:
            request.send_key = f"confirm:{confirmation.id}" + (f":{to}" if n else "")
            run.requests.append(request)


def _listed(run: Run, pending: Pending) -> list[str]:
    """The council's listed contacts, told of a change of who controls its entry."""
    if not pending.control or not pending.council:
        return []
    new = [c["new"] for c in pending.changes if c.get("key") == "contact_email"]
    return also_told(run.world.contacts().council_emails(pending.council), contact=pending.contact,
                     requester=run.sender, new=new)


def _held_notice(run: Run, pending: Pending, proof: str, listed: list[str]) -> str:
    what = pending.reference or pending.view.get("offer_short_title", "A draft")
    if pending.by_team:
        return (f"{what}: {run.sender} asks to {pending.summary} ({proof}); held for the team to make or refuse "
                "in Needs a person")
    text = f"{what}: {run.sender} asks to {pending.summary} ({proof}); held until its contact on record confirms"
    if pending.control:
        change = "; ".join(f"{c['old']} → {c['new']}" for c in pending.changes if c.get("key") == "contact_email")
        text += (f". This changes who controls {what} (contact email {change})"
                 + (f"; also told to {', '.join(listed)}" if listed else "; the council has no listed contact to tell"))
    return text


def _request(
    run: Run, pending: Pending, confirmation: Confirmation, *, to: str, listed: bool
) -> OutboundMessage | None:
    confirmer = run.world.channels.confirmations
    if confirmer is None or run.msg.quiet or run.silenced:
        return None  # the team sees the held change; nobody is mailed on a silenced sender's behalf
    campaign = run.world.campaign
    context = {
        **pending.view,
        "summary": pending.summary,
        "changes": pending.changes,
        "control": pending.control,
        "listed": listed,
        "requester": run.sender,
        "requester_proven": run.proven,
        "channel": run.row.channel,
        "expires": when(confirmation.expires_at, campaign),
        "token": confirmation.token,
        "campaign_name": campaign.campaign.name,
        "team_name": campaign.campaign.team_name,
        "intake_address": run.world.intake_address,
    }
    return confirmer.request("confirm_request", context, to=to, token=confirmation.token)
