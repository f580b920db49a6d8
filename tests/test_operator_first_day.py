"""An operator's first day, run as they run it (`cib` in a subprocess, from a folder of
their own): every setting `cib serve` cannot use is refused by `cib check` and by `cib
serve` alike, in the same words, naming the variable, exit 2, before anything is made; a
start-up failure is one line naming its setting; the shipped systemd unit starts on a new
PostgreSQL database; nothing real in the shipped examples; JSON logs are JSON throughout;
the build is pinned."""
from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import shlex
import signal
import socket
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from intake.runtime.settings import DEFAULT_CONFIG_DIR, Settings
from intake.runtime.settings_load import variable, variable_names
from tests.serving import serve_once
from tests.test_smtp_tls import self_signed

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


async def cib(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, str, str]:
    """`cib` as a subprocess with only the given settings; killed if it outlives `timeout`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "intake", *args, cwd=cwd, env={**base, "COLUMNS": "200", **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"cib {' '.join(args)} was still running after {timeout} s")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def refused_alike(tmp_path: Path, env: dict[str, str]) -> str:
    """`cib check` and `cib serve` both refuse the settings: exit 2, the same words, no
    traceback, and nothing made in the folder. Returns what they said."""
    before = sorted(tmp_path.iterdir())
    (check, _, said), (serve, _, served) = await asyncio.gather(
        cib("check", cwd=tmp_path, env=env), cib("serve", "--no-slack", "--no-scheduler", cwd=tmp_path, env=env))
    assert (check, serve) == (2, 2), said + served
    assert said == served and said.startswith("Invalid settings")
    assert "Traceback" not in said
    assert sorted(tmp_path.iterdir()) == before  # no database, no outbox
    return said


# Each fault found on the first day, and the variable the refusal must name.
FAULTS = [
    ({"CIB_SMTP_PORT": "99999"}, "CIB_SMTP_PORT", "65535"),
    ({"CIB_SMTP_REQUIRE_TLS": "true"}, "CIB_SMTP_REQUIRE_TLS", "CIB_SMTP_TLS_CERT"),
    ({"CIB_SMTP_TLS_CERT": "/nowhere/cert.pem", "CIB_SMTP_TLS_KEY": "/nowhere/key.pem"}, "CIB_SMTP_TLS_CERT",
     "no such file"),
    ({"CIB_SENDER_RATE_LIMITS": "fifty"}, "CIB_SENDER_RATE_LIMITS", "count/seconds"),
    ({"CIB_SMTP_PORT": "2525", "CIB_HTTP_PORT": "2525"}, "CIB_HTTP_PORT", "CIB_SMTP_PORT too"),
    ({"CIB_TEAM_EMAILS": "not-an-email"}, "CIB_TEAM_EMAILS", "not an email address"),
    ({"CIB_WEB_URL": "intake.example.org"}, "CIB_WEB_URL", "https://"),
    ({"CIB_SMTP_PROT": "2525"}, "CIB_SMTP_PROT", "did you mean CIB_SMTP_PORT?"),
]


@pytest.mark.parametrize("env, variable, advice", FAULTS, ids=[f[1] for f in FAULTS])
async def test_what_check_passed_and_serve_died_on_is_refused_by_both(tmp_path, env, variable, advice):
    said = await refused_alike(tmp_path, env)
    [line] = [line for line in said.splitlines() if line.startswith("  ")]
    assert line.strip().startswith(variable) and advice in line


async def test_a_certificate_and_a_key_that_do_not_belong_together_are_refused(tmp_path):
    cert, _ = self_signed(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, key = self_signed(other)
    said = await refused_alike(tmp_path, {"CIB_SMTP_TLS_CERT": str(cert), "CIB_SMTP_TLS_KEY": str(key),
                                          "CIB_SMTP_REQUIRE_TLS": "true"})
    assert f"CIB_SMTP_TLS_KEY='{key}': {key} is not the key of the certificate {cert}" in said


async def test_a_misspelt_setting_in_dot_env_is_named_with_the_one_meant(tmp_path):
    (tmp_path / ".env").write_text("CIB_TEAM_EMAIL=team@example.org\nCIB_RELAY_HOTS=smtp.example.org\n")
    said = await refused_alike(tmp_path, {})
    assert "CIB_TEAM_EMAIL: there is no such setting; did you mean CIB_TEAM_EMAILS?" in said
    assert "CIB_RELAY_HOTS: there is no such setting; did you mean CIB_RELAY_HOST?" in said


# A value each setting refuses. Every field of Settings is here: a new one must say how it
# is refused (tests below check the list is whole).
BAD = {
    "database_url": "mysql://cib:hunter2@db/cib",
    "database_connect_timeout": "0",
    "database_statement_timeout": "-1",
    "database_pool_timeout": "soon",
    "config_dir": "/nowhere/config",
    "templates_dir": "/nowhere/templates",
    "smtp_host": "not a host",
    "smtp_port": "99999",
    "intake_addresses": "eoi-at-example.org",
    "max_message_size": "0",
    "smtp_tls_cert": "/nowhere/cert.pem",
    "smtp_tls_key": "/nowhere/key.pem",
    "smtp_require_tls": "true",
    "authserv_id": "mx example org",
    "dns_servers": "192.0.2.53:99999",
    "dns_timeout": "0",
    "relay_host": "smtp example org",
    "relay_port": "0",
    "relay_username": "cib-intake",
    "relay_password": "hunter2",
    "relay_starttls": "true",
    "outbox_dir": "a-file",
    "from_address": "CIB intake",
    "team_emails": "not-an-email",
    "team_slack_channel": "the team's channel",
    "admin_slack_users": "Amy Team",
    "slack_bot_token": "xapp-1-the-wrong-kind",
    "slack_signing_secret": "two words",
    "slack_app_token": "xoxb-the-wrong-kind",
    "slack_api_url": "slack.com/api/",
    "http_host": "not a host",
    "http_port": "8025",
    "web_url": "intake.example.org",
    "trusted_proxies": "10.0.0.0/33",
    "log_format": "xml",
    "log_level": "LOUD",
    "scheduler_enabled": "maybe",
    "contacts_file": "/nowhere/contacts.csv",
    "scheduler_lock_retry_seconds": "0",
    "slack_post_interval_seconds": "-5",
    "sender_rate_limits": "fifty",
    "total_rate_limits": "2000 an hour",
    "privacy_notice_url": "cib.example.org/privacy",
    "imap_url": "imap.example.org",
    "imap_password": "hunter2",
    "imap_done_mailbox": "",
    "imap_poll_seconds": "60",
    "imap_oauth_tenant": "the council's tenant",
    "imap_oauth_client_id": "cib-intake-app",
    "imap_oauth_client_secret": "hunter2 hunter2",
    "imap_oauth_service_account_file": "/nowhere/service-account.json",
    "imap_oauth_provider": "outlook",
    "imap_oauth_token_url": "login.example.org/token",
}
SECRETS = {"relay_password", "slack_bot_token", "slack_signing_secret", "slack_app_token", "imap_password"}


def test_every_setting_has_a_bad_value_to_walk():
    assert set(BAD) == set(Settings.model_fields)


# Settings checked against others are walked in later rounds, with those others as they
# are by default: a port against CIB_SMTP_PORT, the relay's account against CIB_RELAY_HOST,
# the key against the certificate, requiring TLS against both.
ROUNDS = [
    {"http_port", "relay_username", "relay_password", "relay_starttls", "smtp_tls_key", "imap_password"},
    {"smtp_require_tls"},
]


def _round(n: int) -> list[str]:
    later = set().union(*ROUNDS)
    return sorted(set(BAD) - later) if n == 0 else sorted(ROUNDS[n - 1])


@pytest.mark.parametrize("n", range(len(ROUNDS) + 1))
async def test_every_setting_given_a_bad_value_is_refused_alike_by_check_and_serve(tmp_path, n):
    (tmp_path / "a-file").write_text("not a folder\n")
    fields = _round(n)
    said = await refused_alike(tmp_path, {variable(field): BAD[field] for field in fields})
    lines = [line.strip() for line in said.splitlines() if line.startswith("  ")]
    for field in fields:
        named = [line for line in lines if line.startswith((f"{variable(field)}=", f"{variable(field)}:"))]
        assert len(named) == 1, (field, lines)
    assert len(lines) == len(fields), lines
    for field in SECRETS & set(fields):
        assert BAD[field] not in said
    assert "hunter2" not in said


def _refusal(err: str) -> str:
    """The one line that stopped `cib serve` (after any warnings the checks gave)."""
    lines = err.strip().splitlines()
    assert lines and "Traceback" not in err
    return lines[-1]


async def test_a_port_in_use_is_one_line_naming_the_setting_and_nothing_is_made(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = await cib("serve", "--no-slack", "--no-scheduler", cwd=tmp_path,
                                   env={"CIB_SMTP_PORT": str(port), "CIB_HTTP_PORT": "0"})
    assert code == 2, out + err
    assert _refusal(err) == (
        f"Cannot start: CIB_SMTP_PORT={port}: 127.0.0.1:{port} is already in use; is another `cib serve` "
        f"running? Stop it, or give CIB_SMTP_PORT a free port")
    assert list(tmp_path.iterdir()) == []  # no database made


async def test_check_refuses_a_host_that_is_not_this_machines(tmp_path):
    code, _, err = await cib("check", cwd=tmp_path, env={"CIB_HTTP_HOST": "192.0.2.1"})
    assert code == 1 and "CIB_HTTP_HOST=192.0.2.1: not an address of this machine" in err
    code, _, err = await cib("serve", cwd=tmp_path, env={"CIB_HTTP_HOST": "192.0.2.1", "CIB_SMTP_PORT": "0"})
    assert code == 2 and _refusal(err) == (
        "Cannot start: CIB_HTTP_HOST=192.0.2.1: not an address of this machine; give one of its own, "
        "like 127.0.0.1 or 0.0.0.0")
    assert list(tmp_path.iterdir()) == []


def test_permission_denied_on_a_low_port_says_what_to_do():
    from intake.runtime.listeners import bind_problem

    line = bind_problem("CIB_SMTP", "0.0.0.0", 25, PermissionError(errno.EACCES, "Permission denied"))
    assert line.startswith("CIB_SMTP_PORT=25: permission denied listening on 0.0.0.0:25")
    assert "CAP_NET_BIND_SERVICE" in line and "\n" not in line


async def test_a_database_that_refuses_is_one_line_naming_the_setting(tmp_path):
    url = "postgresql://cib:hunter2@127.0.0.1:1/cib"
    code, _, err = await cib("serve", "--no-slack", cwd=tmp_path,
                             env={"CIB_DATABASE_URL": url, "CIB_SMTP_PORT": "0", "CIB_HTTP_PORT": "0"})
    assert code == 2
    line = _refusal(err)
    assert line.startswith("Cannot reach the database at postgresql+asyncpg://cib:***@127.0.0.1:1/cib")
    assert "CIB_DATABASE_URL" in line and "hunter2" not in line


def _unit() -> dict[str, list[str]]:
    """deploy/cib-intake.service's [Service] entries, each key with all its values."""
    entries: dict[str, list[str]] = {}
    section = ""
    for line in (DEPLOY / "cib-intake.service").read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def _env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile and Compose's env_file read them."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip('"')
    return values


def _command(line: str) -> list[str]:
    words = shlex.split(line.lstrip("-+!@:"))
    assert words[0] == "/opt/cib-intake/bin/cib", line
    return words[1:]


def test_the_units_install_comment_makes_the_settings_folder_from_the_units_example():
    comment = [line.removeprefix("#").strip() for line in (DEPLOY / "cib-intake.service").read_text().splitlines()
               if line.startswith("#")]
    makes = next(n for n, line in enumerate(comment) if re.search(r"(install -d|mkdir -p).* /etc/cib-intake$", line))
    installs = next(n for n, line in enumerate(comment) if line.endswith("/etc/cib-intake/cib.env"))
    assert makes < installs and "deploy/cib.env.example" in comment[installs]
    assert _unit()["EnvironmentFile"] == ["/etc/cib-intake/cib.env"]


async def test_the_shipped_unit_starts_on_a_new_postgresql_database(tmp_path, postgres_url):
    unit = _unit()
    env = dict(_env_file(DEPLOY / "cib.env.example"))  # what the install comment puts in /etc/cib-intake
    env.update(value.split("=", 1) for value in unit.get("Environment", []))
    # Only what this machine needs: the test's database, free ports, no reminders.
    env.update(CIB_DATABASE_URL=postgres_url, CIB_SMTP_PORT="0", CIB_HTTP_PORT="0", CIB_SCHEDULER_ENABLED="false")
    for line in unit["ExecStartPre"]:
        code, out, err = await cib(*_command(line), cwd=tmp_path, env=env)
        assert code == 0, f"ExecStartPre={line}: {out}{err}"
    [start] = unit["ExecStart"]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "intake", *_command(start), cwd=tmp_path, env={**base, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stderr is not None
        while True:
            line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
            assert line, "cib serve stopped before it was running"
            if "CIB intake is running" in json.loads(line)["message"]:
                break
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0
    code, out, err = await cib("export", cwd=tmp_path, env={"CIB_DATABASE_URL": postgres_url})
    assert code == 0 and json.loads(out) == {"submissions": [], "nominations": [], "enquiries": []}, err


async def test_check_passes_on_a_new_postgresql_database_and_makes_nothing(tmp_path, postgres_url):
    code, out, err = await cib("check", cwd=tmp_path, env={"CIB_DATABASE_URL": postgres_url})
    assert code == 0, err
    assert "no schema yet" in out and "`cib serve` or `cib db upgrade` creates it" in out
    code, _, err = await cib("export", cwd=tmp_path, env={"CIB_DATABASE_URL": postgres_url})
    assert code == 2 and "holds no CIB intake data" in err  # check made no schema


def test_the_shipped_contacts_are_at_reserved_example_domains():
    from intake.campaign.contacts import is_example

    rows = [line for line in (DEFAULT_CONFIG_DIR / "contacts.csv").read_text().splitlines()
            if line and not line.startswith("#")][1:]
    emails = [row.split(",")[4] for row in rows if row.split(",")[4]]
    assert emails and all(is_example(email) for email in emails), emails


async def test_check_warns_while_the_shipped_contacts_would_be_sent_to(tmp_path):
    relay = {"CIB_RELAY_HOST": "smtp.example.org"}
    warned = "CIB_RELAY_HOST is set, so reminders would be sent to them"
    code, out, err = await cib("check", cwd=tmp_path, env=relay)
    assert code == 0, err
    assert re.search(r"contacts\s+│ warning │ .*example address", out) and warned in out
    assert re.search(r"All checks passed, with \d warnings? above\.", out)
    # Without a relay, replies go to the outbox folder: nothing to warn of.
    code, out, _ = await cib("check", cwd=tmp_path)
    assert code == 0 and warned not in out
    own = tmp_path / "contacts.csv"
    own.write_text("council,region,name,role,email,slack_channel\nCamden,,,DCS,dcs@camden.gov.uk,\n")
    code, out, _ = await cib("check", cwd=tmp_path, env={**relay, "CIB_CONTACTS_FILE": str(own)})
    assert code == 0 and warned not in out


async def test_the_example_settings_file_passes_as_a_dot_env(tmp_path):
    (tmp_path / ".env").write_text((DEFAULT_CONFIG_DIR / "settings.example.env").read_text())
    code, out, err = await cib("check", cwd=tmp_path)
    assert code == 0, out + err


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_json_logs_are_json_throughout_with_a_zone_on_every_time(tmp_path):
    seen, out, err = await serve_once(tmp_path, CIB_LOG_FORMAT="json", CIB_SMTP_PORT="0", CIB_HTTP_PORT="0",
                                      CIB_SCHEDULER_ENABLED="false", PYTHONWARNINGS="always")
    assert out == b""  # the banner is a log record, not a line on standard output
    records = _json_lines((seen + err).decode())
    banner = next(r for r in records if "CIB intake is running" in r["message"])
    assert banner["logger"] == "intake.cli" and banner["level"] == "INFO"
    for record in records:
        assert datetime.fromisoformat(record["time"]).tzinfo is not None, record


async def test_a_refusal_is_a_json_record_when_logs_are_json(tmp_path):
    code, out, err = await cib("serve", cwd=tmp_path, env={"CIB_LOG_FORMAT": "json", "CIB_SMTP_PORT": "99999"})
    assert code == 2 and out == ""
    [record] = _json_lines(err)
    assert record["level"] == "ERROR" and "CIB_SMTP_PORT='99999'" in record["message"]
    assert datetime.fromisoformat(record["time"]).tzinfo is not None


def test_compose_reads_its_variables_from_the_env_file_beside_it():
    """Compose reads deploy/.env for the ${...} in deploy/compose.yaml, and no other file:
    each is in deploy/.env.example, each env_file has its example, and every CIB_ variable
    either sets is a setting."""
    text = (DEPLOY / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    example = _env_file(DEPLOY / ".env.example")
    assert used and used <= set(example), used - set(example)
    compose = yaml.safe_load(text)
    known = set(variable_names())
    for name, service in compose["services"].items():
        for env_file in [service["env_file"]] if isinstance(service.get("env_file"), str) else service.get("env_file", []):
            settings = _env_file(DEPLOY / f"{env_file}.example")
            assert {k for k in settings if k.startswith("CIB_")} <= known, name
        if name == "cib":
            assert set(service["environment"]) <= known


def test_the_example_settings_for_a_deployment_are_valid(monkeypatch, tmp_path):
    for key, value in _env_file(DEPLOY / "cib.env.example").items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    from intake.runtime.settings_load import load_settings

    settings = load_settings()
    assert settings.relay_host and settings.web_url and settings.authserv_id


def test_the_lock_file_pins_every_dependency_and_the_builds_use_it():
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            requirement = Requirement(line)
            [spec] = list(requirement.specifier)
            assert spec.operator == "==", line
            lock[requirement.name.lower().replace("_", "-")] = spec.version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for text in project["dependencies"] + project["optional-dependencies"]["test"]:
        requirement = Requirement(text)
        name = requirement.name.lower().replace("_", "-")
        assert name in lock, f"{name} is not pinned in requirements.lock"
        assert requirement.specifier.contains(lock[name]), (name, lock[name], str(requirement.specifier))
    assert "requirements.lock" in (DEPLOY / "Dockerfile").read_text()
    install = next(line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "-e '.[test]'" in line)
    assert "-c requirements.lock" in install


def test_the_image_is_built_without_history_databases_or_secrets():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", "*.sqlite3", "deploy/cib.env", "deploy/.env", ".env", "node_modules", ".venv", "build",
            "**/__pycache__"} <= ignored
