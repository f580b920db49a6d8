"""The held kind: a message whose only change waits for someone else to confirm it
(completing another person's draft). The reply says so, and nothing more."""
from __future__ import annotations

from intake.messages import Reply
from intake.pipeline.run import Run


async def handle(run: Run) -> None:
    run.replies.append(Reply(kind="held", context={"held": [p.view for p in run.pending]}))
