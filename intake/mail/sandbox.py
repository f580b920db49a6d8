"""A worker process's life: documents in, what was read of them out, each within its
limits (intake/mail/document_limits.py). Started by intake/mail/pool.py, never imported for use
in the service's own process.

The worker gives way to the service for the CPU (nice), ignores Ctrl-C (the service
stops it), caps its memory above what it holds once warm (RLIMIT_AS) and its CPU time
for each document (RLIMIT_CPU). A document that used up a limit leaves the worker spent:
it answers, then exits, and a fresh one takes its place. A document it cannot finish in
its wall time is the pool's to stop (it kills the worker).

The conversation, over a multiprocessing Connection: the pool sends a JSON header
({"name", "type"}) and the file's bytes; the worker answers with JSON,
{"attachments": [{"name", "kind", "text", "problem"}], "spent": bool}. JSON, not pickle:
a worker has handled a stranger's bytes, and its answer is read as data only.
"""
from __future__ import annotations

import json
import logging
import os
import resource
import signal
import warnings
from multiprocessing.connection import Connection
from typing import Any

from intake.mail.attachments import DAMAGED, TOO_LARGE, TOO_LONG, Attachment, kind_of, read_attachment
from intake.mail.document_limits import WorkerLimits

# Imported once by the fork server, so that every worker forked from it starts warm.
LIBRARIES = ["docx", "openpyxl", "pypdf", "extract_msg", "tnefparse", "bs4"]


class OverTime(BaseException):
    """RLIMIT_CPU reached (SIGXCPU). A BaseException, so the libraries' own `except
    Exception` cannot swallow it."""


def serve(connection: Connection, limits: WorkerLimits) -> None:
    """Read documents from `connection` until it closes, the worker is spent, or it has
    read `limits.jobs` of them."""
    _settle(limits)
    warm = _peak()
    for _ in range(limits.jobs):
        try:
            header = json.loads(connection.recv_bytes())
            data = connection.recv_bytes()
        except (EOFError, OSError):
            return  # the service has gone, or let us go
        found, spent = _read(str(header["name"]), str(header["type"]), data, limits, warm=warm)
        try:
            # ASCII: a name or a text with a lone surrogate (undecodable bytes) still travels.
            connection.send_bytes(json.dumps({"attachments": [_as_json(a) for a in found], "spent": spent}).encode())
        except OSError:
            return  # the service stopped waiting (it has gone, or gave up on this document)
        if spent:
            return


def _settle(limits: WorkerLimits) -> None:
    # What a stranger's document makes a library warn about is no line for the service's log.
    logging.getLogger().addHandler(logging.NullHandler())
    logging.getLogger().setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGXCPU, _over_time)
    os.nice(limits.nice)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name in LIBRARIES:  # already there when forked from the warm fork server
        __import__(name)
    held = _address_space()
    if held is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = held + limits.memory
        resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _read(
    name: str, content_type: str, data: bytes, limits: WorkerLimits, *, warm: int
) -> tuple[list[Attachment], bool]:
    """What was read of one document, and whether it used up a limit (then the worker
    goes). `warm`: the most memory the worker had held before its first document."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    budget = int(_cpu_used()) + limits.cpu_seconds + 1
    resource.setrlimit(resource.RLIMIT_CPU, (budget if hard == resource.RLIM_INFINITY else min(budget, hard), hard))
    try:
        found = read_attachment(name, content_type, data)
    except OverTime:
        return [Attachment(name, kind_of(name, content_type) or "", problem=TOO_LONG)], True
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
    # A library that ran out of memory may say only that it failed: a document that failed
    # after taking most of the memory it may have was too large to read. A worker is
    # replaced once it has held that much, so the peak measured is this document's.
    if _peak() - warm > limits.memory // 2:
        return [a if a.problem != DAMAGED else Attachment(a.name, a.kind, problem=TOO_LARGE) for a in found], True
    return found, any(a.problem == TOO_LARGE for a in found)


def _over_time(signum: int, frame: Any) -> None:
    raise OverTime


def _as_json(attachment: Attachment) -> dict[str, str]:
    return {"name": attachment.name, "kind": attachment.kind, "text": attachment.text, "problem": attachment.problem}


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak() -> int:
    """The most memory this process has held, in bytes (Linux counts ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _address_space() -> int | None:
    """The address space this process holds now, in bytes; None where /proc cannot say."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
