"""The pipeline: every step that processes a kept message, named in order, in one place.

    read -> screen -> authenticate -> establish_sender -> parse          (before the transaction)
    limit_replies -> follow_thread -> recall_confirmations -> match_follow_ups -> apply -> keep_questions
        -> request_confirmations -> record                                (one write transaction)

A step may stop the run (`Stop`: ignored, refused); the message is then kept with that
outcome and nothing else happens. A change that needs the contact on record's word leaves
the message `held` until they confirm it; it is then processed again. A failure of ours
marks the message failed, to be processed again by `cib replay`; it is never lost.
"""
from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from sqlalchemy.exc import InterfaceError, OperationalError

from intake.messages import Identified, Outcome
from intake.models import InboundMessage
from intake.pipeline import steps
from intake.pipeline.run import Run, World
from intake.store import Store

log = logging.getLogger(__name__)

Prepare = Callable[[Run], Awaitable[None] | None]
Commit = Callable[[Run], Awaitable[None]]
Finish = Callable[[], Awaitable[Outcome]]  # what `Pipeline.prepare` leaves to do

PREPARE: Sequence[Prepare] = (steps.read, steps.screen, steps.authenticate, steps.establish_sender, steps.parse)
COMMIT: Sequence[Commit] = (
    steps.limit_replies,
    steps.follow_thread,
    steps.recall_confirmations,
    steps.match_follow_ups,
    steps.apply,
    steps.keep_questions,
    steps.request_confirmations,
    steps.record,
)


class Pipeline:
    def __init__(
        self, store: Store, world: World, *, on_outbound: Callable[[set[str]], None] | None = None
    ) -> None:
        self.store = store
        self.world = world
        self.on_outbound = on_outbound

    async def process(
        self, inbound_id: int, *, again: bool = False, identified: Identified | None = None, answering: bool = False
    ) -> Outcome:
        finish = await self.prepare(inbound_id, again=again, identified=identified, answering=answering)
        return await finish()

    async def prepare(
        self, inbound_id: int, *, again: bool = False, identified: Identified | None = None, answering: bool = False
    ) -> Finish:
        """The steps before the transaction (reading, the sender check, parsing: the slow,
        independent part, which may run for several messages at once); what it returns runs
        the transaction's steps. A failure in either is handled as `process` handles it."""
        try:
            ready = await self._prepare(inbound_id, again=again, identified=identified, answering=answering)
        except Exception as error:  # noqa: BLE001 - reported when the message's turn comes
            return partial(self._failed, inbound_id, identified, error)
        if isinstance(ready, Outcome):
            return partial(_done, ready)
        return partial(self._guarded, ready, identified=identified, answering=answering)

    async def _guarded(self, run: Run, *, identified: Identified | None, answering: bool) -> Outcome:
        inbound_id = run.row.id  # read now: a failed transaction leaves its rows unreadable
        try:
            return await self._commit(run, again=run.again, identified=identified, answering=answering)
        except Exception as error:  # noqa: BLE001 - handled in one place, below
            return await self._failed(inbound_id, identified, error)

    async def _failed(self, inbound_id: int, identified: Identified | None, error: Exception) -> Outcome:
        # Our failure, not the sender's: keep the message, record why; the recovery
        # sweep (intake/runtime/composition.py) tries it again, backing off. A store that is down is
        # one line in the log (the queue's), a bug in our code a traceback.
        if isinstance(error, (OperationalError, InterfaceError, OSError)):
            log.debug("processing inbound message %s failed: %s", inbound_id, error)
            raise error
        log.error("processing inbound message %s failed", inbound_id, exc_info=error)
        async with self.store.unit() as unit:
            row = await unit.inbound.get(inbound_id)
            if row is not None:
                if identified is not None and row.status == "received":
                    _identify(row, identified)  # a replay then knows who sent it
                unit.inbound.mark(
                    row, status="failed", classification="failed",
                    detail="".join(traceback.format_exception(error, limit=5)), at=self.world.clock(),
                )
                # How many times it has failed: the recovery sweep backs off by it.
                row.meta = {**(row.meta or {}), "failures": int((row.meta or {}).get("failures", 0)) + 1}
        return Outcome(inbound_id, "failed")

    async def _prepare(
        self, inbound_id: int, *, again: bool, identified: Identified | None, answering: bool
    ) -> Run | Outcome:
        async with self.store.reader() as reader:
            row = await reader.inbound.get(inbound_id)
        if row is None:
            return Outcome(inbound_id, "missing")
        if row.status != "received" and not again:
            return Outcome(inbound_id, row.classification or row.status, duplicate=True)
        if identified is not None and row.status == "received":
            _identify(row, identified)
        run = Run(self.world, row, answering=answering, again=again)
        for prepare in PREPARE:
            done = prepare(run)
            if inspect.isawaitable(done):
                await done
            if run.stop:
                break
        return run

    async def _commit(self, run: Run, *, again: bool, identified: Identified | None, answering: bool) -> Outcome:
        inbound_id = run.row.id
        async with self.store.unit() as unit:
            claimed = await unit.inbound.claim(inbound_id)
            if claimed is None or (claimed.status != "received" and not again):
                return Outcome(inbound_id, "processed elsewhere", duplicate=True)
            fresh = claimed.status == "received"
            run.unit, run.row = unit, claimed
            for commit in COMMIT:
                if run.stop:
                    break
                await commit(run)
            if identified is not None and fresh:
                _identify(claimed, identified)  # with the status, in one UPDATE
            outcome = _finish(run)
        # Wake the dispatchers of the channels with something new to send, but for the
        # message's own channel if the caller sends those answers itself.
        waking = run.recorded - ({claimed.channel} if answering else set())
        if self.on_outbound and waking:
            self.on_outbound(waking)
        for held in run.follow_on:  # confirmed: the change it asked for can be made now
            await self.process(held)
        return outcome


async def _done(outcome: Outcome) -> Outcome:
    return outcome


def _identify(row: InboundMessage, identified: Identified) -> None:
    """Record on the kept message who the channel found out sent it."""
    row.sender = (identified.sender or "").lower() or None
    row.meta = {**(row.meta or {}), "admin": identified.admin, "quiet": identified.quiet}


def _finish(run: Run) -> Outcome:
    now = run.world.clock()
    if run.authentication is not None and run.row.authentication is None:
        run.row.authentication = run.authentication.as_json()
    if run.stop is not None:
        run.tx.inbound.mark(
            run.row, status=run.stop.status, classification=run.stop.classification, detail=run.stop.detail, at=now
        )
        return Outcome(run.row.id, run.stop.classification)
    assert run.parsed is not None
    status, detail = "processed", "; ".join(filter(None, [*run.not_held, run.silenced])) or None
    if run.pending:
        status = "held"
        waiting = "; ".join(f"{p.reference or p.target}: {p.summary}" for p in run.pending)
        detail = "; ".join(filter(None, [f"awaiting confirmation by the contact on record ({waiting})", detail]))
    run.tx.inbound.mark(run.row, status=status, classification=run.parsed.kind, detail=detail, at=now)
    return Outcome(run.row.id, run.parsed.kind, replies=run.replies, notices=run.notices, held=run.held)
