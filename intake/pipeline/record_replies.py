"""Recording what a run says: replies through the message's own channel, notices through
the team's. Keys made from the message make each unique, so a replay or a second worker
records nothing new."""
from __future__ import annotations

import logging

from datetime import timedelta

from intake.models import OutboundMessage
from intake.pipeline.run import Run

log = logging.getLogger(__name__)

# When the caller answers the message itself, at once (the Slack bot, waiting for its
# answers), the rows for the message's channel are held for it this long; only if it has
# not sent them by then does that channel's dispatcher take them over.
HOLD = timedelta(minutes=5)


async def record_outbound(run: Run) -> None:
    rows = replies(run) + notices(run) + run.requests
    origin = run.row.channel
    holding = run.answering
    for row in rows:
        row.inbound_id = run.row.id
        if holding and row.channel == origin:
            row.next_attempt_at = run.now + HOLD
    # The run holds the claim on its inbound message, so on its first processing no row
    # can have these keys yet; processed again, those recorded before are left out.
    new = await run.tx.outbound.record_new(rows, known=run.row.processed_at is not None)
    for row in new:
        run.recorded.add(row.channel)
    run.held = [row.id for row in new if holding and row.channel == origin]


def replies(run: Run) -> list[OutboundMessage]:
    message = run.msg
    composer = run.world.channels.composers.get(run.row.channel)
    if composer is None or message.quiet or message.no_auto_replies or run.silenced:
        return []
    rows = []
    for reply in run.replies:
        made = composer.reply(reply, row=run.row, message=message)
        if not made:
            log.info("inbound %s has no address to reply to", run.row.id)
        for n, row in enumerate(made):
            # One reply of each kind per message (and per place it goes to).
            row.send_key = f"reply:{run.row.id}:{reply.kind}{run.round}" + (f":{n}" if n else "")
            rows.append(row)
    return rows


def notices(run: Run) -> list[OutboundMessage]:
    team = run.world.channels.notices
    if team is None:
        return []
    rows = []
    for n, notice in enumerate(run.notices):
        row = team.notice(notice, message=run.msg)
        row.send_key = f"notice:{run.row.id}:{n}{run.round}"
        rows.append(row)
    return rows
