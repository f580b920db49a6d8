"""Hypothesis against the running service, bounded for CI.

The examples run in a worker thread and each is handed to the test's event loop (where
the service runs), so one service, started once, takes every example, and a falsifying
example is printed as the input alone. Deterministic by default (`derandomize`);
CIB_FUZZ_EXAMPLES=N runs N random examples per test instead, for a longer hunt."""
from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis.strategies import SearchStrategy

T = TypeVar("T")
DEEP = int(os.environ.get("CIB_FUZZ_EXAMPLES", "0"))


def bounded(examples: int) -> settings:
    # No shrinking: each example is a round trip through the service, and the failure
    # message names the input and what came back.
    return settings(
        max_examples=DEEP or examples, derandomize=not DEEP, deadline=None, database=None,
        suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
    )


async def each_example(strategy: SearchStrategy[T], check: Callable[[T], Awaitable[Any]], *, examples: int,
                       found: Sequence[T] = (), timeout: float = 60.0) -> None:
    """Run `check` on the test's loop for every example hypothesis draws from `strategy`,
    and first for each input in `found` (what an earlier run found: kept as a regression)."""
    loop = asyncio.get_running_loop()

    def run(case: T) -> None:
        asyncio.run_coroutine_threadsafe(check(case), loop).result(timeout)

    for case in found:
        run = example(case)(run)
    await asyncio.to_thread(bounded(examples)(given(strategy)(run)))
