"""Recording what a run says: replies through the message's own channel, notices through
the team's. Keys made from the message make each unique, so a replay or a second worker
records nothing new."""
from __future__ import annotations

import logging

from intake.models import OutboundMessage
from intake.pipeline.run import Run

log = logging.getLogger(__name__)


async def record_outbound(run: Run) -> None:
    rows = replies(run) + notices(run)
    for row in rows:
        row.inbound_id = run.row.id
    # The run holds the claim on its inbound message: nobody else records these keys now.
    for row in await run.tx.outbound.record_new(rows):
        run.recorded.add(row.channel)


def replies(run: Run) -> list[OutboundMessage]:
    message = run.msg
    composer = run.world.channels.composers.get(run.row.channel)
    if composer is None or message.quiet:
        return []
    rows = []
    for reply in run.replies:
        row = composer.reply(reply, row=run.row, message=message)
        if row is None:
            log.info("inbound %s has no address to reply to", run.row.id)
            continue
        row.send_key = f"reply:{run.row.id}:{reply.kind}"  # one reply of each kind per message
        rows.append(row)
    return rows


def notices(run: Run) -> list[OutboundMessage]:
    team = run.world.channels.notices
    if team is None:
        return []
    rows = []
    for n, text in enumerate(run.notices):
        row = team.notice(text, message=run.msg)
        row.send_key = f"notice:{run.row.id}:{n}"
        rows.append(row)
    return rows
