"""/healthz and /metrics: what an operator's monitoring asks of a running instance.

Totals come from the database (they hold across restarts and count every instance's
work); processing latency, and messages refused because the database would not take
them (so not in it to count), are measured in this process. Each Runtime has its own
registry, so several services in one process (the tests) do not share counters.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from intake.store import Store

T = TypeVar("T")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Kept this long and still waiting to be processed: something is stuck.
STUCK_AFTER = timedelta(minutes=10)
# A probe gets its answer within its own timeout (Docker's HEALTHCHECK allows 5 s): a
# database that has not answered by then is "not healthy", not a probe that hangs.
HEALTH_TIMEOUT = 3.0
# Reminders and digests are outbound kinds of their own; everything else sent is a reply.
SCHEDULED_KINDS = ("reminder", "digest")


@dataclass
class Snapshot:
    inbound: list[tuple[str, str, str, int]]
    outbound: list[tuple[str, str, str, int]]
    unprocessed: int
    unsent: int
    queued: int
    refused: dict[str, int] = field(default_factory=dict)  # channel -> messages refused for good
    mailbox: dict[str, Any] | None = None  # the mailbox channel's state, when there is one


class _Totals(Collector):
    """The families of one snapshot (a collector per scrape: the query is async)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Any:
        s = self.snapshot
        received = CounterMetricFamily(
            "cib_messages_received", "Messages kept, by channel and what they were read as",
            labels=["channel", "kind"])
        for channel, status, classification, count in s.inbound:
            received.add_metric([channel, classification or status], count)
        yield received
        refused = CounterMetricFamily(
            "cib_messages_refused", "Messages refused for good because the database would not keep them "
            "(this process, since it started)", labels=["channel"])
        for channel, count in sorted(s.refused.items()):
            refused.add_metric([channel], count)
        yield refused
        sent = CounterMetricFamily("cib_replies_sent", "Replies and notices delivered, by channel",
                                   labels=["channel"])
        failed = CounterMetricFamily("cib_replies_failed", "Replies and notices that could not be delivered",
                                     labels=["channel"])
        scheduled = CounterMetricFamily("cib_scheduled_sent", "Reminders and digests delivered",
                                        labels=["kind", "channel"])
        by_channel: dict[tuple[str, str], int] = {}
        for channel, kind, status, count in s.outbound:
            if kind in SCHEDULED_KINDS:
                if status == "sent":
                    scheduled.add_metric([kind, channel], count)
                continue
            if status in ("sent", "failed"):
                by_channel[(channel, status)] = by_channel.get((channel, status), 0) + count
        for (channel, status), count in sorted(by_channel.items()):
            (sent if status == "sent" else failed).add_metric([channel], count)
        yield sent
        yield failed
        yield scheduled
        depth = GaugeMetricFamily("cib_queue_depth", "Work waiting", labels=["queue"])
        depth.add_metric(["inbound_unprocessed"], s.unprocessed)
        depth.add_metric(["outbound_unsent"], s.unsent)
        depth.add_metric(["processing_in_hand"], s.queued)
        if s.mailbox is not None:
            depth.add_metric(["mailbox_waiting"], s.mailbox["waiting"] or 0)
        yield depth
        if s.mailbox is not None:
            yield GaugeMetricFamily("cib_mailbox_connected", "1 while the mailbox channel is logged in",
                                    value=1 if s.mailbox["connected"] else 0)
            yield GaugeMetricFamily("cib_mailbox_last_fetch_seconds", "When the mailbox was last read through "
                                    "(Unix time; 0: not yet)", value=s.mailbox["last_fetch_unix"] or 0)


class Operations:
    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        # Set by the composition root once the queue and the scheduler exist.
        self.queued: Callable[[], int] = lambda: 0
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "cib_processing_seconds", "Time to process one kept message (read, classify, record, reply)",
            registry=self.registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        # This instance's scheduler: whether it leads (runs reminders and digests) and when
        # it last did its round; None when it runs no scheduler.
        self.scheduler: Callable[[], tuple[bool, datetime | None] | None] = lambda: None
        # The mailbox channel's state (connected, last fetch, waiting), when it runs.
        self.mailbox: Callable[[], dict[str, Any] | None] = lambda: None
        self._probing: asyncio.Future[tuple[int, int, datetime | None]] | None = None

    def timed(self, prepare: Callable[..., Awaitable[Callable[[], Awaitable[T]]]]
              ) -> Callable[..., Awaitable[Callable[[], Awaitable[T]]]]:
        """Processing in two halves (`IntakeService.prepare`), timed as the time spent in
        each, not the wait between them for the message's turn."""
        async def first(*args: Any, **kwargs: Any) -> Callable[[], Awaitable[T]]:
            started = time.perf_counter()
            finish = await prepare(*args, **kwargs)
            spent = time.perf_counter() - started

            async def second() -> T:
                started = time.perf_counter()
                try:
                    return await finish()
                finally:
                    self.latency.observe(spent + time.perf_counter() - started)

            return second

        return first

    async def snapshot(self) -> Snapshot:
        async with self.store.reader() as unit:
            inbound = await unit.operations.inbound_totals()
            outbound = await unit.operations.outbound_totals()
            unprocessed, unsent, _ = await unit.operations.waiting()
        return Snapshot(inbound, outbound, unprocessed, unsent, self.queued(), refused=self.store.refused,
                        mailbox=self.mailbox())

    async def metrics(self) -> bytes:
        snapshot = await self.snapshot()
        registry = CollectorRegistry()
        registry.register(_Totals(snapshot))
        return generate_latest(self.registry) + generate_latest(registry)

    async def _probe(self) -> tuple[int, int, datetime | None]:
        """The database's answer within HEALTH_TIMEOUT, or TimeoutError. The query is not
        cancelled (undoing it would wait on the silent database too): it runs on, ended by
        the statement timeout, and the next probes wait on it rather than adding more."""
        if self._probing is None or self._probing.done():
            self._probing = asyncio.ensure_future(self._waiting())
            self._probing.add_done_callback(lambda task: task.cancelled() or task.exception())
        done, _ = await asyncio.wait({self._probing}, timeout=HEALTH_TIMEOUT)
        if not done:
            raise TimeoutError(f"no answer within {HEALTH_TIMEOUT:g} seconds")
        return self._probing.result()

    async def _waiting(self) -> tuple[int, int, datetime | None]:
        async with self.store.reader() as unit:
            await unit.operations.ping()
            return await unit.operations.waiting()

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, what was found): the database answers and nothing kept is stuck."""
        now = self.clock()
        report: dict[str, Any] = {"queue": {"in_hand": self.queued()}}
        if (mailbox := self.mailbox()) is not None:
            report["mailbox"] = {k: v for k, v in mailbox.items() if k != "last_fetch_unix"}
        state = self.scheduler()
        report["scheduler"] = None if state is None else {
            "leader": state[0], "last_run": state[1].isoformat() if state[1] else None}
        try:
            unprocessed, unsent, oldest = await self._probe()
        except Exception as error:  # noqa: BLE001 - any failure to answer is "not healthy"
            report["database"] = {"ok": False, "error": type(error).__name__}
            return False, {"ok": False, **report}
        report["database"] = {"ok": True}
        report["queue"].update(inbound_unprocessed=unprocessed, outbound_unsent=unsent)
        stuck = oldest is not None and now - oldest > STUCK_AFTER
        report["queue"]["oldest_unprocessed"] = oldest.isoformat() if oldest else None
        if stuck:
            report["problem"] = f"a message kept at {oldest.isoformat()} is still waiting to be processed"
        return not stuck, {"ok": not stuck, **report}
