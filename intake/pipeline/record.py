"""Recording what a run says: replies through the message's own channel, notices through
the team's. Keys make each unique, so a replay or a second worker records nothing new."""
from __future__ import annotations

import logging

from intake.pipeline.run import Run

log = logging.getLogger(__name__)


async def record_replies(run: Run) -> None:
    message = run.msg
    composer = run.world.channels.composers.get(run.row.channel)
    if composer is None or message.quiet:
        return
    for reply in run.replies:
        row = composer.reply(reply, row=run.row, message=message)
        if row is None:
            log.info("inbound %s has no address to reply to", run.row.id)
            continue
        # One reply of each kind per message.
        row.send_key = f"reply:{run.row.id}:{reply.kind}"
        row.inbound_id = run.row.id
        await run.tx.outbound.record(row)


async def record_notices(run: Run) -> None:
    notices = run.world.channels.notices
    if notices is None:
        return
    for n, text in enumerate(run.notices):
        row = notices.notice(text, message=run.msg)
        row.send_key = f"notice:{run.row.id}:{n}"
        row.inbound_id = run.row.id
        await run.tx.outbound.record(row)
