"""Giving freed memory back to the system, on glibc.

Reading a big message (or a workbook) allocates tens of megabytes and frees them soon
after; glibc's allocator keeps what was freed in its arenas (one for each thread that
allocated, up to eight per core), so the process's RSS stays near its highest for good and
looks like a leak. Fewer arenas keep the freed memory in fewer places, and `malloc_trim`
hands what is free back. Elsewhere (musl, macOS) both do nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter number for the arena limit (glibc's malloc.h)
ARENAS = 2


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim, libc.mallopt  # noqa: B018 - glibc has both; other C libraries may not
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def limit_arenas(count: int = ARENAS) -> bool:
    """At most `count` arenas from now on (before the process starts its threads)."""
    return bool(_LIBC is not None and _LIBC.mallopt(M_ARENA_MAX, count))


def give_back() -> bool:
    """Return the free memory at the top of each arena to the system; True if any was."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0))
