"""Asking the contact on record to confirm a held change: a `Confirmation` row with its
one-time token, an audit entry, a notice to the team, and the request itself, which goes
out by email (`Channels.confirmations`) whichever channel the change came by."""
from __future__ import annotations

from intake.confirmations import EXPIRY, new_token
from intake.messages import Notice
from intake.models import Confirmation, OutboundMessage
from intake.pipeline.run import Pending, Run
from intake.replies import when


async def ask_contacts(run: Run) -> None:
    if not run.pending:
        return
    asked = {c.target for c in await run.tx.confirmations.for_inbound(run.row.id)}
    for pending in run.pending:
        if pending.target in asked:
            continue  # processed again: asked the first time
        confirmation = await run.tx.add(
            Confirmation(
                token=new_token(), inbound_id=run.row.id, target=pending.target, reference=pending.reference,
                contact=pending.contact, requester=run.sender, summary=pending.summary,
                created_at=run.now, expires_at=run.now + EXPIRY, status="pending",
            )
        )
        proof = run.authentication.describe() if run.authentication else "not proven"
        run.tx.audit.record(
            at=run.now, actor=run.sender, action="held", entity="confirmation", entity_id=confirmation.id,
            reference=pending.reference,
            detail={"summary": pending.summary, "contact": pending.contact, "sender": proof},
            inbound_id=run.row.id,
        )
        run.notices.append(Notice(
            f"{pending.reference or pending.view.get('offer_short_title', 'A draft')}: {run.sender} asks to "
            f"{pending.summary} ({proof}); held until its contact on record confirms"
        ))
        request = _request(run, pending, confirmation)
        if request is not None:
            run.requests.append(request)


def _request(run: Run, pending: Pending, confirmation: Confirmation) -> OutboundMessage | None:
    confirmer = run.world.channels.confirmations
    if confirmer is None or run.msg.quiet or run.silenced:
        return None  # the team sees the held change; nobody is mailed on a silenced sender's behalf
    campaign = run.world.campaign
    context = {
        **pending.view,
        "summary": pending.summary,
        "requester": run.sender,
        "requester_proven": run.proven,
        "channel": run.row.channel,
        "expires": when(confirmation.expires_at, campaign),
        "token": confirmation.token,
        "campaign_name": campaign.campaign.name,
        "team_name": campaign.campaign.team_name,
        "intake_address": run.world.intake_address,
    }
    row = confirmer.request("confirm_request", context, to=pending.contact, token=confirmation.token)
    row.send_key = f"confirm:{confirmation.id}"
    return row
