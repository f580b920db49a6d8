"""The enquiry kind: free text that is none of the others. Kept for the team to answer;
the sender is told it reached them."""
from __future__ import annotations

from intake.messages import Notice, Reply
from intake.models import Enquiry
from intake.pipeline.run import Run


async def handle(run: Run) -> None:
    assert run.parsed is not None
    message, row = run.msg, run.row
    # What they wrote; the subject stands in for an empty body.
    text = message.text.strip() or message.subject or run.parsed.text
    if await run.tx.enquiries.from_inbound(row.id) is None:
        await run.tx.add(
            Enquiry(sender=run.sender, channel=row.channel, text=text, received_at=row.received_at, inbound_id=row.id)
        )
    preview = " ".join(text.split())[:140]
    run.replies.append(Reply("enquiry", {"text": text, "elsewhere": run.parsed.elsewhere}))
    # About an entry (a reference named, or a reply to our message about it): kept with the
    # message, and the team's notice says which.
    about = f" about {', '.join(run.parsed.references)}" if run.parsed.references else ""
    if run.parsed.references:
        row.meta = {**(row.meta or {}), "about": list(run.parsed.references)}
    run.notices.append(Notice(f"Enquiry from {run.sender or 'unknown sender'}{about}: {preview}"))
