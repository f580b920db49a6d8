"""What an operator sees when something is wrong, run as they run it (`cib ...` in a
subprocess, from a folder of their own): short answers on stderr naming what to fix, no
traceback unless --debug, secrets never shown, and read commands that never make a
database."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from intake.runtime.settings import DEFAULT_CONFIG_DIR
from tests.serving import serve_once
from tests.mailer import message, send, settle


async def cib(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`cib` as a subprocess (asyncio's, so the services a test runs keep serving)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    base.update(COLUMNS="200", **(env or {}))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "intake", *args, cwd=cwd, env=base,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_version(tmp_path):
    code, out, _ = await cib("--version", cwd=tmp_path)
    assert code == 0 and out.startswith("cib-intake ")


async def test_a_bad_setting_names_its_variable_in_a_few_lines(tmp_path):
    code, _, err = await cib("check", cwd=tmp_path, env={"CIB_SMTP_PORT": "abc"})
    assert code == 2
    assert "CIB_SMTP_PORT='abc'" in err and "valid integer" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 3


async def test_debug_shows_the_traceback(tmp_path):
    code, _, err = await cib("--debug", "check", cwd=tmp_path, env={"CIB_SMTP_PORT": "abc"})
    assert code != 0 and "Traceback" in err


async def test_an_unreachable_database_is_named_with_its_password_hidden(tmp_path):
    url = "postgresql://cib:hunter2@127.0.0.1:1/cib"
    code, _, err = await cib("export", cwd=tmp_path, env={"CIB_DATABASE_URL": url})
    assert code == 2
    assert "Cannot reach the database at postgresql+asyncpg://cib:***@127.0.0.1:1/cib" in err
    assert "hunter2" not in err and "Traceback" not in err


@pytest.mark.parametrize("command", [
    ["export"], ["export", "--format", "csv"], ["leads"], ["schedule"], ["audit", "PBR-0001"],
    ["digest", "--dry-run"], ["remind", "--dry-run"], ["verify", "PBR-0001"], ["replay"],
])
async def test_read_commands_never_make_a_database(tmp_path, command):
    code, out, err = await cib(*command, cwd=tmp_path)
    assert code == 2, out + err
    assert f"There is no database at {tmp_path / 'cib-intake.sqlite3'}" in err and "Nothing was created" in err
    assert list(tmp_path.iterdir()) == []


async def test_settings_from_a_dot_env_file_and_the_environment_wins(tmp_path):
    (tmp_path / ".env").write_text(
        "# the operator's settings\nCIB_DATABASE_URL=sqlite:///from-dotenv.sqlite3\nCIB_SMTP_PORT=2525\n"
    )
    code, out, err = await cib("db", "upgrade", cwd=tmp_path)
    assert code == 0, err
    # `sqlite://` is given the async driver; the file is where .env says.
    assert "sqlite+aiosqlite:///from-dotenv.sqlite3" in out and (tmp_path / "from-dotenv.sqlite3").exists()
    code, out, err = await cib("db", "upgrade", cwd=tmp_path,
                               env={"CIB_DATABASE_URL": "sqlite:///from-environment.sqlite3"})
    assert code == 0, err
    assert (tmp_path / "from-environment.sqlite3").exists()
    (tmp_path / ".env").write_text("CIB_SMTP_PORT=not-a-port\n")
    code, _, err = await cib("check", cwd=tmp_path)
    assert code == 2 and "CIB_SMTP_PORT='not-a-port'" in err


async def test_check_passes_on_the_defaults_in_an_empty_folder(tmp_path):
    code, out, err = await cib("check", cwd=tmp_path)
    assert code == 0, err
    for what in ("campaign", "councils", "contacts", "templates", "database"):
        assert what in out
    assert "All checks passed" in out and list(tmp_path.iterdir()) == []


async def test_check_finds_a_broken_template(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_CONFIG_DIR.parent / "templates", templates)
    (templates / "email" / "ack.txt.j2").write_text("{% if %}broken")
    (templates / "slack" / "help.json.j2").write_text('{% include "slack/_nowhere.j2" %}')
    code, _, err = await cib("check", cwd=tmp_path, env={"CIB_TEMPLATES_DIR": str(templates)})
    assert code == 1
    assert "email/ack.txt.j2" in err and "slack/help.json.j2: uses slack/_nowhere.j2" in err


async def test_postgres_urls_as_usually_written_are_accepted(tmp_path, postgres_url):
    plain = make_url(postgres_url).set(drivername="postgres").render_as_string(hide_password=False)
    code, out, err = await cib("db", "upgrade", cwd=tmp_path, env={"CIB_DATABASE_URL": plain})
    assert code == 0, err
    code, out, err = await cib("export", cwd=tmp_path, env={"CIB_DATABASE_URL": plain})
    assert code == 0, err
    assert json.loads(out) == {"submissions": [], "nominations": [], "enquiries": []}


async def test_instances_starting_at_once_on_a_new_database_all_migrate_it(tmp_path, postgres_url):
    results = await asyncio.gather(*(
        cib("db", "upgrade", cwd=tmp_path, env={"CIB_DATABASE_URL": postgres_url}) for _ in range(4)
    ))
    assert [code for code, _, _ in results] == [0, 0, 0, 0], [err for _, _, err in results]


def _renamed_config(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    campaign = config / "campaign.toml"
    campaign.write_text(campaign.read_text().replace('key = "pbr-pathfinder"', 'key = "pbr"'))
    return config


async def test_check_and_serve_stop_on_a_renamed_offer_key_and_remind_does_not_crash(runtime, tmp_path):
    await send(runtime, message(
        "Council: Bury Metropolitan Borough Council\nContact name: Ali Khan\nContact role: Service Manager\n"
        "Number of children's centres: 7\n", sender="ali.khan@bury.gov.uk", subject="PbR pathfinder"),
        mail_from="ali.khan@bury.gov.uk")
    await settle(runtime)
    env = {"CIB_DATABASE_URL": runtime.settings.database_url, "CIB_CONFIG_DIR": str(_renamed_config(tmp_path)),
           "CIB_OUTBOX_DIR": str(tmp_path / "outbox"), "CIB_SMTP_PORT": "0", "CIB_HTTP_PORT": "0"}
    code, _, err = await cib("check", cwd=tmp_path, env=env)
    assert code == 1 and "'pbr-pathfinder' (1 entries)" in err
    code, _, err = await cib("serve", "--no-slack", "--no-scheduler", cwd=tmp_path, env=env)
    assert code == 2 and "'pbr-pathfinder'" in err
    # Reminders still go (the stranded entry is shown by its stored key).
    code, out, err = await cib("remind", "--as-of", "2027-05-20T09:00", "--dry-run", cwd=tmp_path, env=env)
    assert code == 0, err
    assert "would send" in out and "ali.khan@bury.gov.uk" in out


async def test_serve_logs_one_json_object_per_line(tmp_path):
    # The banner is a log record too (on stderr, with the others).
    seen, _, err = await serve_once(tmp_path, CIB_LOG_FORMAT="json", CIB_SMTP_PORT="0", CIB_HTTP_PORT="0",
                                    CIB_SCHEDULER_ENABLED="false")
    lines = [json.loads(text) for text in (seen + err).decode().splitlines() if text.strip()]
    assert lines, "no log lines"
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in lines)
    assert any("SMTP listening" in entry["message"] for entry in lines)


def test_every_list_setting_is_read_comma_separated_from_the_environment(monkeypatch):
    from intake.runtime.settings import Settings

    lists = {name: info for name, info in Settings.model_fields.items() if "list" in str(info.annotation)}
    # Each list's entries are checked as what they are: two valid ones of each kind.
    typed = {"trusted_proxies": ["10.0.0.1", "10.0.0.0/8"], "intake_addresses": ["eoi@a.example", "eoi@b.example"],
             "team_emails": ["a@example.org", "b@example.org"], "admin_slack_users": ["U0AAA", "b@example.org"],
             "authserv_id": ["mx1.example.org", "mx2.example.org"], "dns_servers": ["192.0.2.1", "192.0.2.2:5353"]}
    for name in lists:
        monkeypatch.setenv(f"CIB_{name.upper()}", ", ".join(typed.get(name, ["1/2", "3/4"])))
    settings = Settings(_env_file=None)
    assert {name: getattr(settings, name) for name in lists} == {name: typed.get(name, ["1/2", "3/4"]) for name in lists}
    assert {"intake_addresses", "team_emails", "sender_rate_limits", "total_rate_limits"} <= set(lists)


async def test_help_loads_neither_the_service_nor_its_drivers(tmp_path):
    code = ("import sys, intake.cli; heavy = {'sqlalchemy', 'aiosqlite', 'asyncpg', 'aiosmtpd', 'slack_bolt', "
            "'slack_sdk', 'apscheduler', 'alembic', 'openpyxl', 'pydantic_settings', 'intake.runtime.composition'}; "
            "print(sorted(m for m in heavy if m in sys.modules))")
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, cwd=tmp_path,
                                                   stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    assert out.decode().strip() == "[]"


async def test_check_lists_every_broken_file_at_once(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    campaign = config / "campaign.toml"
    campaign.write_text(campaign.read_text().replace("capacity = 30", "capacity = -30"))
    (config / "contacts.csv").write_text("council,email\nNowhere Council,x@nowhere.test\n")
    code, _, err = await cib("check", cwd=tmp_path, env={"CIB_CONFIG_DIR": str(config)})
    assert code == 1
    assert "offers[1].capacity" in err and "contacts" in err and "problem" in err
    assert list(tmp_path.iterdir()) == [config]  # no database made
