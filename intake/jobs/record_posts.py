"""Recording scheduled posts in the outbox, in short transactions."""
from __future__ import annotations

from intake.jobs.job_deps import JobDeps
from intake.messages import Post
from intake.models import OutboundMessage

RECORD_BATCH = 200  # outbound rows per transaction


def wrap(deps: JobDeps, channel: str, post: Post) -> OutboundMessage:
    """The post as its channel's outbound row."""
    return deps.composers[channel].scheduled(post)


async def record(deps: JobDeps, rows: list[OutboundMessage]) -> list[OutboundMessage]:
    """Record rows; those whose send key exists already are left out."""
    kept: list[OutboundMessage] = []
    for start in range(0, len(rows), RECORD_BATCH):
        async with deps.store.unit() as unit:
            for row in rows[start : start + RECORD_BATCH]:
                if await unit.outbound.record(row) is not None:
                    kept.append(row)
    return kept
