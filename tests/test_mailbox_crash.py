"""`cib serve` killed with SIGKILL while it empties a full mailbox, then started again:
every message is kept, moved and answered, and none is answered twice (replies counted at
the loopback relay)."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from tests.conftest import Relay
from tests.dovecot import PASSWORD, Dovecot, dovecot, free_port  # noqa: F401 - the fixture
from tests.mailer import message, stamp
from tests.test_mailbox import PBR

MESSAGES = 80


def serve_settings(dovecot: Dovecot, relay: Relay, database_url: str, folder: Path) -> dict[str, str]:  # noqa: F811
    return {
        "CIB_DATABASE_URL": database_url, "CIB_IMAP_URL": dovecot.url, "CIB_IMAP_PASSWORD": PASSWORD,
        "CIB_SMTP_PORT": str(free_port()), "CIB_HTTP_PORT": "0", "CIB_RELAY_HOST": "127.0.0.1", "CIB_RELAY_PORT": str(relay.port),
        "CIB_INTAKE_ADDRESSES": "eoi@cib.test", "CIB_FROM_ADDRESS": "CIB intake <eoi@cib.test>",
        "CIB_TEAM_EMAILS": "team@local.gov.uk", "CIB_AUTHSERV_ID": "mx.cib.test", "CIB_SCHEDULER_ENABLED": "false",
        "CIB_OUTBOX_DIR": str(folder / "outbox"),
        # One sender sends them all: no reply may be held back by the per-sender limits.
        "CIB_SENDER_RATE_LIMITS": "100000/60", "CIB_TOTAL_RATE_LIMITS": "100000/60",
    }


async def start_serving(folder: Path, settings: dict[str, str]) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "intake", "serve", "--no-slack", cwd=folder, env={**env, **settings},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, start_new_session=True)


async def until(condition, *, within: float, every: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(every)


async def test_killed_mid_batch_and_restarted(dovecot, relay, database_url, tmp_path) -> None:  # noqa: F811
    ids = [f"<crash-{n}@camden.gov.uk>" for n in range(MESSAGES)]
    for message_id in ids:
        dovecot.append(stamp(message(PBR, subject="PbR pathfinder", message_id=message_id)))
    settings = serve_settings(dovecot, relay, database_url, tmp_path)
    first = await start_serving(tmp_path, settings)
    try:
        await until(lambda: dovecot.count("Processed") >= 10, within=60, every=0.02)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the service and any worker it started
        await first.wait()
    moved_before = dovecot.count("Processed")
    assert moved_before < MESSAGES, "the whole batch was done before the kill: nothing was tested"
    second = await start_serving(tmp_path, settings)
    try:
        await until(lambda: dovecot.count("Processed") == MESSAGES, within=120)
        await until(lambda: len({m["Message-ID"] for m in relay.messages}) >= MESSAGES, within=120)
        await asyncio.sleep(2)  # anything sent twice would have arrived by now
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), timeout=60)
    assert dovecot.count("INBOX") == 0
    replies = {m["Message-ID"]: m["In-Reply-To"] for m in relay.messages}
    answers = Counter(replies.values())
    assert sorted(answers) == sorted(ids)  # every message answered
    assert set(answers.values()) == {1}, [k for k, v in answers.items() if v > 1]  # by one reply each
    # A reply in flight at the kill may reach the relay twice (the outbox sends at least
    # once); it is the same reply, with the same Message-ID: no message answered twice.
    assert len(relay.messages) - len(replies) <= 1


async def test_the_mailbox_as_the_only_way_in(dovecot, relay, database_url, tmp_path) -> None:  # noqa: F811
    # CIB_SMTP_PORT=0: no SMTP listener; a message appended while the service runs is
    # answered through the relay within the 30 s the deploying guide promises.
    settings = {**serve_settings(dovecot, relay, database_url, tmp_path), "CIB_SMTP_PORT": "0"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    serving = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "intake", "serve", "--no-slack", cwd=tmp_path, env={**env, **settings},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        assert serving.stdout is not None
        banner = ""
        while "CIB intake is running" not in banner:
            line = await asyncio.wait_for(serving.stdout.readline(), timeout=60)
            assert line, f"cib serve ended before it started: {banner}"
            banner += line.decode()
        assert "read from the mailbox (SMTP off)" in banner, banner
        started = time.monotonic()
        dovecot.append(stamp(message(PBR, subject="PbR pathfinder", message_id="<only-way@camden.gov.uk>")))
        await until(lambda: any(m["In-Reply-To"] == "<only-way@camden.gov.uk>" for m in relay.messages), within=30)
        assert time.monotonic() - started < 30
        assert dovecot.count("Processed") == 1 and dovecot.count("INBOX") == 0
    finally:
        serving.send_signal(signal.SIGTERM)
        await asyncio.wait_for(serving.communicate(), timeout=60)
    assert serving.returncode == 0
