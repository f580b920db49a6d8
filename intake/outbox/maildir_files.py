"""The local outbox folder (a Maildir, where mail goes when no relay is set): what an
erasure or the retention period does to the copies of mail kept there. Each file is read
and a function decides: keep it, rewrite it, or remove it. The old bytes of a rewritten or
removed file are overwritten with zeros first, so the file system does not hand them back
(a copy-on-write file system, or a disk's own wear levelling, may still hold them: the
docs say so)."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

FOLDERS = ("new", "cur", "tmp")

# Given a file's bytes and when it was last written: the same bytes to keep it, other
# bytes to rewrite it, None to remove it.
Decide = Callable[[bytes, datetime], bytes | None]


@dataclass
class Reworked:
    kept: int = 0
    rewritten: int = 0
    removed: int = 0


def rework(directory: Path, decide: Decide, *, dry_run: bool = False) -> Reworked:
    """Apply `decide` to every message in the Maildir at `directory` (none there: nothing)."""
    done = Reworked()
    for folder in FOLDERS:
        place = directory / folder
        if not place.is_dir():
            continue
        for path in sorted(place.iterdir()):
            if not path.is_file():
                continue
            content = path.read_bytes()
            modified = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            result = decide(content, modified)
            if result is None:
                done.removed += 1
                if not dry_run:
                    _remove(path)
            elif result != content:
                done.rewritten += 1
                if not dry_run:
                    _rewrite(path, result)
            else:
                done.kept += 1
    return done


def _zero(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
        os.fsync(handle.fileno())


def _remove(path: Path) -> None:
    _zero(path)
    path.unlink()


def _rewrite(path: Path, content: bytes) -> None:
    # Written in tmp/ first, as Maildir writes: a mail client never sees half a message.
    (path.parent.parent / "tmp").mkdir(exist_ok=True)
    fresh = path.parent.parent / "tmp" / (path.name + ".rewritten")
    with fresh.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    _zero(path)
    os.replace(fresh, path)
