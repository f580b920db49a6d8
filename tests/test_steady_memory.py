"""The soak benchmark's tracemalloc mode (benchmarks/traced_serve.py), which finds what a
long-running `cib serve` holds on to: a snapshot on each SIGUSR2, and a comparison that
names what grew."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TRACED = """
import os, signal, sys, time
sys.path.insert(0, {benchmarks!r})
from traced_serve import install
install(__import__("pathlib").Path({folder!r}))
held = [bytearray(1000) for _ in range(100)]
os.kill(os.getpid(), signal.SIGUSR2)
held += [bytearray(1000) for _ in range(2000)]
os.kill(os.getpid(), signal.SIGUSR2)
"""


def test_the_traced_launcher_writes_a_snapshot_on_each_sigusr2_and_compares_them(tmp_path: Path) -> None:
    folder = tmp_path / "snapshots"
    script = TRACED.format(benchmarks=str(ROOT / "benchmarks"), folder=str(folder))
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert sorted(p.name for p in folder.iterdir()) == ["0001.snapshot", "0002.snapshot"]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from traced_serve import compare
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    total, grew = compare(folder / "0001.snapshot", folder / "0002.snapshot", top=1)
    assert total.endswith("KiB in all") and float(total.split()[0]) > 1900  # the 2,000 bytearrays
    assert "<string>:8" in grew and float(grew.split()[0]) > 1900



def test_freed_memory_goes_back_to_the_system_on_glibc() -> None:
    """What a big message freed is handed back (malloc_trim) rather than kept as RSS; on a
    C library without it, nothing happens and nothing fails."""
    import platform

    from intake.runtime.freed_memory import give_back, limit_arenas

    glibc = platform.libc_ver()[0] == "glibc"
    assert limit_arenas() is glibc
    held = [bytearray(256 * 1024) for _ in range(200)]  # 50 MB, then freed
    del held
    assert isinstance(give_back(), bool)
