"""Work that happens after Slack has been acknowledged.

Slack wants an answer within 3 seconds; users.info, the core's processing and the replies
may take longer. Each listener keeps the message (one database commit), acks, then hands
the slow part to `Background.spawn`. The tasks are
kept (asyncio holds only weak references), their failures are logged, and `drain` lets a
shutdown finish what was acknowledged instead of dropping it.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from intake.outbox.lull import lull

log = logging.getLogger(__name__)

QUIET = 0.05  # seconds without a new request that make a lull


class Background:
    def __init__(
        self, *, limit: int = 4, acks_first: float = 0.5, busy: Callable[[], bool] = lambda: False
    ) -> None:
        # Bounded so a burst queues here instead of crowding out the acks on the loop.
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures = 0
        # Requests between "arrived" and "acknowledged" (each waits for a database commit):
        # background work steps aside for them, for at most `acks_first` seconds a step.
        self._acking = 0
        self._acks_first = acks_first
        # Messages arriving by any channel (the core keeping them) count as well.
        self._busy = busy
        # And requests still coming in: a burst's next request is usually on its way
        # before the last is acknowledged, so a gap between acks is not yet a lull.
        self._last_arrival = float("-inf")

    @contextmanager
    def acking(self) -> Iterator[None]:
        """Around the part of a listener that runs before its ack."""
        self._acking += 1
        try:
            yield
        finally:
            self._acking -= 1

    async def after_acks(self) -> None:
        """Wait until no request is waiting to be acknowledged and no message is arriving
        (or `acks_first` has passed): Slack's 3 seconds are for the acks; the work behind
        them has no such deadline."""
        await lull(self._arriving, at_most=self._acks_first)

    def arrived(self) -> None:
        """A request came in (before anything is checked)."""
        self._last_arrival = asyncio.get_running_loop().time()

    def _arriving(self) -> bool:
        return self._acking > 0 or self._busy() or asyncio.get_running_loop().time() - self._last_arrival < QUIET

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._run(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            async with self._slots:
                await self.after_acks()
                await work
        except asyncio.CancelledError:
            raise
        except Exception:
            self.failures += 1
            log.exception("Slack background task %s failed", name)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait for every task (including ones spawned meanwhile); False on timeout, when
        what is left is cancelled."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=remaining)
        if not self._tasks:
            return True
        left = set(self._tasks)
        log.warning("cancelling %d unfinished Slack task(s) at shutdown", len(left))
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        return False
