"""The operator CLI, run as an operator runs it: `cib ...` in a subprocess, against a
database the running service filled over SMTP."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import shlex
import subprocess
import sys
from types import SimpleNamespace

from openpyxl import load_workbook

from tests.mailer import message, send, settle
from tests.team_browser import TeamBrowser


def cib(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "intake", *args], capture_output=True, text=True, env=env, timeout=120
    )


def _env(runtime, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    env.update(
        CIB_DATABASE_URL=runtime.settings.database_url,
        CIB_OUTBOX_DIR=str(tmp_path / "cli-outbox"),
        COLUMNS="200",
    )
    return env


async def _fill(runtime) -> None:
    await send(
        runtime,
        message(
            """
            Council: Bury Metropolitan Borough Council
            Contact name: Ali Khan
            Contact role: Service Manager
            Number of children's centres: 7
            """,
            sender="ali.khan@bury.gov.uk",
            subject="PbR pathfinder",
        ),
        mail_from="ali.khan@bury.gov.uk",
    )
    await send(
        runtime,
        message("Region: North West\nLead DCS: Sue Lee, Bury, sue.lee@bury.gov.uk", sender="ali.khan@bury.gov.uk",
                subject="Regional leads"),
        mail_from="ali.khan@bury.gov.uk",
    )
    await send(runtime, message("Could someone call me about the programme?", subject="Call"))
    await settle(runtime)


async def test_export_json_has_the_documented_shape(runtime, tmp_path):
    await _fill(runtime)
    result = cib("export", "--format", "json", env=_env(runtime, tmp_path))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"submissions", "nominations", "enquiries"}
    [submission] = data["submissions"]
    assert set(submission) >= {
        "reference", "offer", "council_code", "council", "region", "contact_name", "contact_email",
        "channel", "received_at", "late", "verified", "status", "fields",
    }
    assert (submission["reference"], submission["council"], submission["region"]) == (
        "PBR-0001", "Bury Metropolitan Borough Council", "North West")
    [nomination] = data["nominations"]
    assert set(nomination) >= {"region", "role", "name", "council_code", "council", "email", "channel", "received_at"}
    assert (nomination["role"], nomination["name"], nomination["council_code"]) == ("lead-dcs", "Sue Lee", "E08000002")
    [enquiry] = data["enquiries"]
    assert set(enquiry) == {"sender", "channel", "text", "received_at"}


async def test_export_csv_and_xlsx(runtime, tmp_path):
    await _fill(runtime)
    env = _env(runtime, tmp_path)
    result = cib("export", "--format", "csv", env=env)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["reference"] == "PBR-0001" and rows[0]["centres"] == "7"

    path = tmp_path / "export.xlsx"
    result = cib("export", "--format", "xlsx", "--output", str(path), env=env)
    assert result.returncode == 0, result.stderr
    book = load_workbook(path)
    assert book.sheetnames == ["Submissions", "Nominations", "Enquiries"]
    assert book["Submissions"]["A2"].value == "PBR-0001"
    assert book["Nominations"]["D2"].value == "Sue Lee"


async def test_replay_twice_changes_nothing(runtime, tmp_path, relay):
    await _fill(runtime)
    env = _env(runtime, tmp_path)
    before = cib("export", env=env).stdout
    replies = len(relay.messages)
    for _ in range(2):
        result = cib("replay", env=env)
        assert result.returncode == 0, result.stderr
        assert "submission" in result.stdout and "enquiry" in result.stdout
    assert cib("export", env=env).stdout == before
    assert len(relay.messages) == replies


def test_db_upgrade_creates_the_schema(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIB_")}
    env["CIB_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3"
    result = cib("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    import sqlite3

    tables = {r[0] for r in sqlite3.connect(tmp_path / "fresh.sqlite3").execute("select name from sqlite_master")}
    assert {"inbound_messages", "submissions", "nominations", "enquiries", "outbound_messages", "audit"} <= tables


def test_invalid_campaign_config_names_file_key_and_problem(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    from intake.runtime.settings import DEFAULT_CONFIG_DIR

    (config / "councils.csv").write_bytes((DEFAULT_CONFIG_DIR / "councils.csv").read_bytes())
    text_ = (DEFAULT_CONFIG_DIR / "campaign.toml").read_text()
    (config / "campaign.toml").write_text(text_.replace("capacity = 30", "capacity = -30"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIB_")}
    env.update(CIB_CONFIG_DIR=str(config), CIB_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3")
    result = cib("export", env=env)
    assert result.returncode == 2
    assert "campaign.toml: offers[1].capacity: Input should be greater than 0" in result.stderr


def test_demo_runs_end_to_end():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    env["COLUMNS"] = "200"
    result = cib("demo", env=env)
    assert result.returncode == 0, result.stderr
    assert "PBR-0001" in result.stdout
    assert "RL-0001" in result.stdout
    assert "The deadline is Thursday 27 May 2027, 5pm" in result.stdout


async def test_demo_keep_leaves_data_to_sign_in_and_look_at(tmp_path):
    """`cib demo --keep` (run twice: the second replaces the first's database), then the
    service started and signed in to exactly as it says, on free ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    env["COLUMNS"] = "200"
    for _ in range(2):
        result = subprocess.run([sys.executable, "-m", "intake", "demo", "--keep"], capture_output=True, text=True,
                                env=env, cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
    said = result.stdout.splitlines()
    assert f"The demo's data is kept in {tmp_path / 'cib-demo.sqlite3'}." in result.stdout
    serve = shlex.split(next(line for line in said if "cib serve" in line))
    settings = dict(word.split("=", 1) for word in serve if "=" in word)
    assert serve[len(settings):] == ["cib", "serve", "--no-scheduler"]
    assert settings["CIB_TEAM_EMAILS"] == "team@cib.localhost"
    show_link = shlex.split(next(line for line in said if line.strip().startswith("python3 -c")))

    # The ports are the test's own; everything else as printed.
    served = {**env, **settings, "CIB_HTTP_PORT": "0", "CIB_SMTP_PORT": "0"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "intake", *serve[len(settings) + 1:], env=served, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        running = ""
        while "stops it" not in running:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, "cib serve stopped"
            running += line.decode()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", " ".join(running.split())).group(1))
        async with TeamBrowser(SimpleNamespace(http_port=port)) as browser:
            await browser.ask_for_link("team@cib.localhost")
            inbox = tmp_path / "outbox" / "new"
            for _ in range(100):
                if inbox.exists() and any(inbox.iterdir()):
                    break
                await asyncio.sleep(0.1)
            link = subprocess.run([sys.executable if word == "python3" else word for word in show_link],
                                  capture_output=True, text=True, timeout=30)
            assert link.returncode == 0, link.stderr
            page = await browser.get(link.stdout.strip())
            signed_in = await browser.submit(page, link.stdout.strip())
            assert "You are signed in as team@cib.localhost" in signed_in.text
            entries = await browser.get("/team/entries")
            assert "Showing 3 of 3" in entries.text
            for shown in ("PBR-0001", "RL-0001", "Cllr Ann Jones", "London Borough of Camden"):
                assert shown in entries.text
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


def test_demo_keep_never_replaces_another_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    env["CIB_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/mine.sqlite3"
    assert cib("db", "upgrade", env=env).returncode == 0
    before = (tmp_path / "mine.sqlite3").read_bytes()
    result = cib("demo", "--database", str(tmp_path / "mine.sqlite3"), env=env)
    assert result.returncode == 2
    assert "is not a database `cib demo` made: nothing was changed" in result.stderr
    assert (tmp_path / "mine.sqlite3").read_bytes() == before
