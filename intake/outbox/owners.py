"""Who holds a send's lease: this process, named so that a restart on the same machine can
tell a holder that has died (its leases are released at once) from one still running
(`cib remind` beside `cib serve`: its leases are left to run out). The name is the host,
the process id and the process's start time (Linux's /proc), so a process id reused by a
later process, or pid 1 of a restarted container, is not taken for the holder."""
from __future__ import annotations

import os
import socket
from functools import lru_cache


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot; None if there is no such
    process (or no /proc to ask)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


@lru_cache(maxsize=1)
def this_process() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_started(pid) or ''}"


def dead_here(owner: str) -> bool:
    """The owner ran on this machine and is gone. False whenever that cannot be told (no
    /proc, another machine, an owner recorded before owners were): the lease then runs out
    on its own."""
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or not started:
        return False
    if not os.path.isdir("/proc/self"):
        return False
    return _started(int(pid_text)) != started
