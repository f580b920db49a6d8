"""`cib serve` as an operator starts it: a process of its own, until its banner, then SIGTERM."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path


async def serve_once(folder: Path, **settings: str) -> tuple[bytes, bytes, bytes]:
    """Start `cib serve` in `folder` with these settings (and no other CIB_ or SLACK_
    variable), wait for the banner, stop it; (stderr up to the banner, stdout, the rest
    of stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    env.update(settings)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "intake", "serve", "--no-slack", cwd=folder, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    seen = b""
    try:
        assert process.stderr is not None
        while b"CIB intake is running" not in seen:
            line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
            assert line, "cib serve stopped"
            seen += line
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return seen, out, err
