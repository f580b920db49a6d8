"""One module per kind of message, behind this registry: the `apply` step looks up the
parsed kind here. A new kind is a module with `async def handle(run)` and a line below."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from intake.pipeline.kinds import amend, confirmation, enquiry, held, query, submission, withdraw
from intake.pipeline.run import Run

Handler = Callable[[Run], Awaitable[None]]

KINDS: dict[str, Handler] = {
    "withdraw": withdraw.handle,
    "amend": amend.handle,
    "submission": submission.handle,  # a message may carry nominations too
    "nomination": submission.handle,
    "query": query.handle,
    "enquiry": enquiry.handle,
    "confirmation": confirmation.handle,  # a reply carrying a confirmation token
    "held": held.handle,  # nothing to do until someone else confirms
}

__all__ = ["KINDS", "Handler", "enquiry"]
