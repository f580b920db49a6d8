"""Waiting for a lull: work that can wait (processing, sending, Slack's background work)
steps aside while messages are arriving, so keeping them and answering the sender go
first; but never for longer than a bound, so a steady stream does not starve it."""
from __future__ import annotations

import asyncio
from collections.abc import Callable

# How long email processing and sending wait, per step, for arrivals to pause.
PATIENCE = 2.0


async def lull(busy: Callable[[], bool], *, at_most: float, step: float = 0.01) -> None:
    """Return once `busy()` is false, or after `at_most` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + at_most
    while busy() and loop.time() < deadline:
        await asyncio.sleep(step)
