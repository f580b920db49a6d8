"""Attached documents opened in worker processes, so that no document a stranger sends
can hold up the service: its event loop answers SMTP, Slack, /healthz and the workspace.

A small pool of processes (intake/mail/sandbox.py), forked from a fork server that has
imported the document libraries once (no asyncio state is inherited, and a fresh worker
starts in milliseconds). Each document goes to one idle worker, with a wall time: past it
the worker is killed and replaced, and the document is named as taking too long. Each
worker caps its own memory and CPU. A message's documents together have a time of their
own (`message_seconds`), so one message cannot hold its processing for long.

`open` is blocking (it is an `Opener`, called from the email reader's thread, never from
the event loop) and thread-safe. The pool starts its workers when the service starts, or
on first use (`cib replay`), and `close` stops them; a closed pool starts again if used.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext

from intake.mail import sandbox
from intake.mail.attachments import DAMAGED, TOO_LONG, Attachment, DocumentFile, kind_of
from intake.mail.document_limits import MAX_CHARS, WORKER_LIMITS, WorkerLimits

log = logging.getLogger(__name__)

# An answer larger than this is not read: its worker is replaced, the document named as
# damaged. Ample for the text kept of a document and of those inside it, JSON-escaped.
MAX_ANSWER = 64 * 1024 * 1024
VACANT = "vacant"  # a worker's place, filled when a document needs it


def _context() -> BaseContext:
    """Fork server where there is one (Linux, macOS): workers are forked from a clean,
    warm process, never from the service with its event loop and threads. It imports the
    main module once (multiprocessing's default), so a worker does not import it again."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["__main__", "intake.mail.sandbox", *sandbox.LIBRARIES])
        return context
    return multiprocessing.get_context("spawn")


class _Gone(Exception):
    """The worker had died before it was given the document (nothing was read)."""


class _Worker:
    """One worker process and our end of its connection."""

    def __init__(self, context: BaseContext, limits: WorkerLimits) -> None:
        ours, theirs = context.Pipe()
        self.process = context.Process(  # type: ignore[attr-defined]
            target=sandbox.serve, args=(theirs, limits), name="cib-documents", daemon=True
        )
        self.process.start()
        theirs.close()
        self.connection: Connection = ours
        self.jobs = 0

    def read(self, file: DocumentFile, seconds: float) -> tuple[list[Attachment], bool]:
        """What the worker read of `file`, and whether it may read another. TimeoutError
        past `seconds`; EOFError or OSError if it died."""
        self.jobs += 1
        try:
            self.connection.send_bytes(json.dumps({"name": file.name, "type": file.content_type}).encode())
            self.connection.send_bytes(file.data)
        except OSError as error:
            raise _Gone from error
        if not self.connection.poll(seconds):
            raise TimeoutError
        answer = json.loads(self.connection.recv_bytes(MAX_ANSWER))
        found = [Attachment(str(a["name"]), str(a["kind"]), str(a["text"])[:MAX_CHARS], str(a["problem"]))
                 for a in answer["attachments"]]
        return found, not answer["spent"]

    def stop(self) -> None:
        self.connection.close()
        self.process.kill()
        self.process.join(timeout=5)


class DocumentPool:
    """A few worker processes that open attached documents, each within `limits`."""

    def __init__(self, limits: WorkerLimits = WORKER_LIMITS) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._context: BaseContext | None = None
        # Idle workers, VACANT for one to start when next needed, None once closed.
        self._idle: queue.Queue[_Worker | str | None] = queue.Queue()
        self._workers: set[_Worker] = set()
        self._threads: ThreadPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers (a second or so the first time: the fork server imports the
        document libraries). Does nothing if they are running."""
        with self._lock:
            if self._threads is not None:
                return
            self._context = self._context or _context()
            for _ in range(self.limits.workers):
                try:
                    self._idle.put(self._spawn())
                except OSError as error:  # no process to be had now: the first document tries again
                    log.error("could not start a worker to read attachments: %s", error)
                    self._idle.put(VACANT)
            self._threads = ThreadPoolExecutor(self.limits.workers, thread_name_prefix="cib-documents")

    def open(self, files: Sequence[DocumentFile]) -> list[list[Attachment]]:
        """Each document as a worker read it, in order; one not read in time is named as
        taking too long. Blocks: call it from a thread, never from the event loop."""
        self.start()
        threads = self._threads
        assert threads is not None
        jobs = [threads.submit(self._read, file) for file in files]
        wait(jobs, timeout=self.limits.message_seconds)
        return [self._outcome(file, job) for file, job in zip(files, jobs)]

    def close(self) -> None:
        """Stop every worker; a document being read is named as not read."""
        with self._lock:
            threads, self._threads = self._threads, None
            idle, self._idle = self._idle, queue.Queue()
            workers, self._workers = self._workers, set()
        resting = set()
        while not idle.empty():
            if isinstance(worker := idle.get_nowait(), _Worker):
                resting.add(worker)
                worker.stop()
        for worker in workers - resting:
            # Busy: the thread reading with it sees it die and closes our end itself.
            worker.process.kill()
        idle.put(None)  # wakes the threads waiting for a worker
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)

    def _read(self, file: DocumentFile) -> list[Attachment]:
        idle = self._idle
        for _ in range(2):
            worker = idle.get()
            if worker is None:
                idle.put(None)
                return [_unread(file, TOO_LONG)]
            if not isinstance(worker, _Worker):
                try:
                    with self._lock:
                        worker = self._spawn()
                except OSError as error:
                    idle.put(VACANT)
                    log.error("could not start a worker to read attachments: %s", error)
                    return [_unread(file, DAMAGED)]
            again = False
            try:
                found, again = worker.read(file, self.limits.seconds)
            except _Gone:
                self._release(worker, idle, keep=False)
                continue  # it had died idle: another worker reads the document
            except TimeoutError:
                log.warning("attachment %r took more than %ss to read: its worker was stopped", file.name,
                            self.limits.seconds)
                found = [_unread(file, TOO_LONG)]
            except (EOFError, OSError, ValueError, KeyError, TypeError) as error:
                log.warning("attachment %r: its worker failed (%s)", file.name, type(error).__name__)
                found = [_unread(file, DAMAGED)]
            self._release(worker, idle, keep=again and worker.jobs < self.limits.jobs)
            return found
        return [_unread(file, DAMAGED)]

    def _release(self, worker: _Worker, idle: queue.Queue[_Worker | str | None], *, keep: bool) -> None:
        """Back to `idle`, or stopped, a fresh one to start in its place when next needed."""
        with self._lock:
            current = idle is self._idle  # not closed (and perhaps started again) meanwhile
            if not (keep and current):
                self._workers.discard(worker)
        if not (keep and current):
            worker.stop()
        if current:
            idle.put(worker if keep else VACANT)

    def _spawn(self) -> _Worker:
        assert self._context is not None
        worker = _Worker(self._context, self.limits)
        self._workers.add(worker)
        return worker

    def _outcome(self, file: DocumentFile, job: Future[list[Attachment]]) -> list[Attachment]:
        if not job.done() or job.cancelled():
            job.cancel()
            return [_unread(file, TOO_LONG)]
        error = job.exception()
        if error is not None:
            log.error("attachment %r could not be read", file.name, exc_info=error)
            return [_unread(file, DAMAGED)]
        return job.result()


def _unread(file: DocumentFile, problem: str) -> Attachment:
    return Attachment(file.name, kind_of(file.name, file.content_type) or "", problem=problem)

