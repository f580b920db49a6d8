"""The operator CLI, run as an operator runs it: `cib ...` in a subprocess, against a
database the running service filled over SMTP."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from openpyxl import load_workbook

from tests.mailer import message, send, settle


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
    from intake.settings import DEFAULT_CONFIG_DIR

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
