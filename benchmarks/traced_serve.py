"""`cib` with tracemalloc on, for finding what grows in a long-running `cib serve`:

    python benchmarks/traced_serve.py SNAPSHOT_DIR serve --no-slack

On each SIGUSR2 the process writes a tracemalloc snapshot to SNAPSHOT_DIR (0001.snapshot,
0002.snapshot, ...), after a garbage collection so that only what is still held is in
it. The service itself knows nothing of this; compare two snapshots with `compare`.
"""
from __future__ import annotations

import gc
import itertools
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

FRAMES = 12  # enough to see past the standard library to the caller that holds on


def install(folder: Path) -> None:
    """Trace allocations from now on; a snapshot to `folder` on each SIGUSR2."""
    folder.mkdir(parents=True, exist_ok=True)
    numbers = itertools.count(1)
    tracemalloc.start(FRAMES)

    def dump(signum: int, frame: FrameType | None) -> None:
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces([
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap*"),
        ])
        path = folder / f"{next(numbers):04d}.snapshot"
        snapshot.dump(str(path.with_suffix(".part")))
        path.with_suffix(".part").rename(path)

    signal.signal(signal.SIGUSR2, dump)


def compare(first: Path, last: Path, *, top: int = 15, key: str = "traceback") -> list[str]:
    """What `last` holds more than `first` in all, then the `top` allocation sites that
    grew most, as lines: growth in KiB, blocks, and the innermost frames first."""
    before, after = tracemalloc.Snapshot.load(str(first)), tracemalloc.Snapshot.load(str(last))
    total = sum(t.size for t in after.traces) - sum(t.size for t in before.traces)
    lines = [f"{total / 1024:+10.1f} KiB in all"]
    grown = sorted(after.compare_to(before, key), key=lambda stat: -stat.size_diff)
    for stat in grown[:top]:
        frames = [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in reversed(stat.traceback)]
        lines.append(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+7d} blocks  " + " < ".join(frames[:6]))
    return lines


def main(argv: list[str]) -> None:
    install(Path(argv[0]))
    sys.argv = ["cib", *argv[1:]]
    from intake.cli import main as cib

    cib()


if __name__ == "__main__":
    main(sys.argv[1:])
