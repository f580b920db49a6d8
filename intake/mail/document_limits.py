"""Every limit on reading what a sender attaches, in one place.

Size limits cap bytes, not work: a spreadsheet of a kilobyte can declare a million rows,
and a PDF of a few kilobytes a page that takes minutes to lay out. So each document is
opened in a worker process (intake/mail/pool.py, intake/mail/sandbox.py) with its own wall
time, CPU time and memory, and what is read of it is capped before the expensive work.
A document over a limit is named in the reply with the reason, like any other unread one.
"""
from __future__ import annotations

from dataclasses import dataclass

# What is read of a document (intake/mail/attachments.py, pure).
MAX_BYTES = 5 * 1024 * 1024  # an attachment larger than this is not opened
MAX_UNPACKED = 50 * 1024 * 1024  # a .docx/.xlsx whose parts unpack to more is not opened
MAX_PAGES = 30  # PDF pages read
MAX_ROWS = 2_000  # spreadsheet rows read, over all sheets
MAX_COLUMNS = 100  # spreadsheet columns read: a sheet may declare 16,384 of them
MAX_CHARS = 100_000  # text kept from one attachment
MAX_TEXT = 200_000  # text kept from all the attachments of one message: parsing it takes time
MAX_DEPTH = 3  # attachments inside winmail.dat inside ...
MAX_ATTACHMENTS = 10  # documents opened from one message (and from one .msg or winmail.dat)


@dataclass(frozen=True)
class WorkerLimits:
    """What opening one document may cost, enforced on the worker process that does it."""

    workers: int = 2  # processes opening documents side by side
    seconds: float = 10.0  # wall time for one document; past it its worker is killed and replaced
    cpu_seconds: int = 10  # CPU time for one document (RLIMIT_CPU)
    memory: int = 256 * 1024 * 1024  # memory for one document, above the worker's own (RLIMIT_AS)
    message_seconds: float = 30.0  # every document of one message, waiting for a worker included
    jobs: int = 100  # documents a worker opens before a fresh one takes its place
    nice: int = 10  # the workers give way to the service for the CPU


WORKER_LIMITS = WorkerLimits()
