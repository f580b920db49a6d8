"""Telling a sender what the team did with their entry: a reply to the message the entry
came from, through that message's own channel (threaded under their email, or in their
Slack conversation), recorded in the outbox in the action's transaction."""
from __future__ import annotations

from typing import Any

from intake.messages import Reply
from intake.models import InboundMessage, OutboundMessage
from intake.pipeline.run import World
from intake.store import Unit


async def tell(
    unit: Unit, world: World, inbound_id: int | None, kind: str, context: dict[str, Any], *, key: str
) -> OutboundMessage | None:
    """Record the reply; None when the entry has no message or its channel cannot answer."""
    row = await unit.inbound.get(inbound_id) if inbound_id is not None else None
    if row is None:
        return None
    reader = world.channels.readers.get(row.channel)
    composer = world.channels.composers.get(row.channel)
    if reader is None or composer is None:
        return None
    message = reader(row)
    if message.quiet:
        return None
    made = composer.reply(Reply(kind=kind, context={**_common(world, row, message.sender), **context}),
                          row=row, message=message)
    if not made:
        return None
    for n, out in enumerate(made):
        out.send_key, out.inbound_id = key + (f":{n}" if n else ""), row.id
    new = await unit.outbound.record_new(made, known=True)
    return new[0] if new else None


def _common(world: World, row: InboundMessage, sender: str | None) -> dict[str, Any]:
    campaign = world.campaign.campaign
    council = world.councils.by_email(sender)
    return {
        "campaign_name": campaign.name,
        "team_name": campaign.team_name,
        "intake_address": world.intake_address,
        "sender": sender,
        "sender_council": council.name if council else None,
        "channel": row.channel,
        "subject": row.subject,
    }
