"""Personal data over the real boundaries: people write in over SMTP, the operator runs
`cib personal-data ...` as a subprocess, and their traces are looked for in the database
(every row and column; on SQLite the file's bytes and its WAL too), the outbox folder and
`cib export`. On PostgreSQL (CIB_TEST_DATABASE_URL) the same, but for the files: what the
database itself promises is that no row or column holds them."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid

from intake.models import InboundMessage
from intake.runtime.composition import Runtime, create_service
from tests.mailer import message, settle, stamp
from tests.personal_data_support import (
    Person,
    every_value,
    maildir_files,
    service_to_maildir,
    sqlite_files,
    submission,
    traces_in_files,
    traces_in_maildir,
    traces_in_rows,
    write_in,
)

ALI = Person("ali.khan@bury.gov.uk", "Ali Khan", "0161 496 0123", "Bury Metropolitan Borough Council")
JANE = Person("jane.smith@camden.gov.uk", "Jane Smith", "020 7946 0456", "London Borough of Camden")


def cib(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "intake", *args], capture_output=True, text=True, env=env,
                          timeout=180)


def _env(runtime: Runtime) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    env.update(CIB_DATABASE_URL=runtime.settings.database_url, CIB_OUTBOX_DIR=str(runtime.settings.outbox_dir),
               CIB_INTAKE_ADDRESSES="eoi@cib.test", CIB_TEAM_EMAILS="team@local.gov.uk", COLUMNS="200")
    return env


async def _two_councils(runtime: Runtime) -> None:
    """Ali (Bury) sends an expression of interest, a nomination of a colleague and a
    question; Jane (Camden) an expression of interest; the team decides both."""
    for person, raw in (
        (ALI, submission(ALI)),
        (ALI, message(f"Region: North West\nLead DCS: Sue Lee, Bury, sue.lee@bury.gov.uk\n\n{ALI.name}\n{ALI.phone}",
                      sender=ALI.address, subject="Regional leads")),
        (ALI, message(f"Could someone ring me on {ALI.phone} about the programme?", sender=ALI.address,
                      subject="A question")),
        (JANE, submission(JANE)),
    ):
        await write_in(runtime, person, raw)
        await settle(runtime)  # one at a time: Ali's entry is PBR-0001 on PostgreSQL too
    for reference in ("PBR-0001", "PBR-0002"):
        done = await runtime.team.decide(reference, "accept", actor="team@local.gov.uk", note="Welcome aboard")
        assert done.ok, done.message
    await settle(runtime)


async def _jane_as_held(runtime: Runtime) -> dict[str, object]:
    """Everything of Jane's: her message as kept, her entry, what was sent to her."""
    values = await every_value(runtime)
    rows = {table: [row for row in rows if JANE.found_in(" ".join(row.values()))] for table, rows in values.items()}
    mail = {path.name: path.read_bytes() for path in maildir_files(runtime.settings.outbox_dir)
            if JANE.found_in(path.read_bytes().decode("latin-1"))}
    return {"rows": rows, "mail": mail}


async def test_erase_leaves_no_trace_of_the_person_and_keeps_the_entries_counted(settings_factory, clock, tmp_path):
    async with service_to_maildir(settings_factory, clock, tmp_path / "outbox") as runtime:
        await _erase_and_look(runtime)


async def _erase_and_look(runtime: Runtime) -> None:
    await _two_councils(runtime)
    env = _env(runtime)
    assert traces_in_maildir(runtime.settings.outbox_dir, ALI), "the acknowledgements should name Ali first"
    found = cib("personal-data", "find", ALI.address, env=env)
    assert found.returncode == 0, found.stderr
    assert "Ali Khan" in found.stdout and "PBR-0001" in found.stdout and "01614960123" in found.stdout
    before = json.loads(cib("export", env=env).stdout)
    jane = await _jane_as_held(runtime)

    refused = cib("personal-data", "erase", ALI.address, "--reason", "Asked", env=env)
    assert refused.returncode == 2 and "add --yes" in refused.stderr
    result = cib("personal-data", "erase", ALI.address, "--reason", f"{ALI.name} asked us to erase it", "--yes",
                 "--as", "team@local.gov.uk", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PBR-0001 still counted" in result.stdout

    values = await every_value(runtime)
    assert traces_in_rows(values, ALI) == []
    assert traces_in_files(sqlite_files(runtime), ALI) == []
    assert traces_in_maildir(runtime.settings.outbox_dir, ALI) == []
    exported = cib("export", env=env)
    assert exported.returncode == 0 and ALI.found_in(exported.stdout) == []
    after = json.loads(exported.stdout)
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
    [erased] = [s for s in after["submissions"] if s["reference"] == "PBR-0001"]
    [kept] = [s for s in before["submissions"] if s["reference"] == "PBR-0001"]
    for column in ("council_code", "offer", "status", "decision", "place", "verified"):
        assert erased[column] == kept[column], column
    assert erased["contact_name"] == "[erased]" and erased["fields"]["centres"] == 7
    [nomination] = after["nominations"]
    assert nomination["name"] == "Sue Lee" and nomination["sender"] == ""  # Sue's, not Ali's
    assert await _jane_as_held(runtime) == jane  # another council's data untouched
    [record] = [row for row in values["audit"] if row["action"] == "erased" and row["entity"] == "person"]
    assert record["actor"] == "team@local.gov.uk" and "[erased] asked us to erase it" in record["detail"]
    assert "PBR-0001" in record["detail"]


async def test_export_holds_the_raw_messages_they_sent_with_attachments(runtime, tmp_path):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"{ALI.name} <{ALI.address}>", "eoi@cib.test", "Support needed"
    mail["Message-ID"] = make_msgid(domain="bury.gov.uk")
    mail.set_content(f"Council: {ALI.council}\nContact name: {ALI.name}\nContact role: Head of Service\n"
                     "Support needed: help deciding how many centres we need\n")
    mail.add_attachment(b"Our notes, plain text.\n", maintype="text", subtype="plain", filename="notes.txt")
    raw = bytes(mail)
    for person, mail_ in ((ALI, raw), (ALI, message("When is the deadline?", sender=ALI.address, subject="Deadline")),
                          (JANE, submission(JANE))):
        await write_in(runtime, person, mail_)
        await settle(runtime)
    out = tmp_path / "ali.zip"
    result = cib("personal-data", "export", ALI.address, "--out", str(out), env=_env(runtime))
    assert result.returncode == 0, result.stderr
    archive = zipfile.ZipFile(io.BytesIO(out.read_bytes()))
    names = archive.namelist()
    summary = json.loads(archive.read("summary.json"))
    assert summary["about"]["address"] == ALI.address and ALI.name in summary["about"]["names"]
    assert [e["reference"] for e in summary["entries"]] == ["CCS-0001"]
    assert {h["what"].split(" ")[0] for h in summary["held"]} >= {"expressions", "messages"}
    kept = sorted((n for n in names if n.startswith("messages/") and n.endswith(".eml")),
                  key=lambda n: int(n.split("/")[1].split(".")[0]))
    assert len(kept) == 2
    async with runtime.store.reader() as unit:
        rows = [await unit.inbound.get(i) for i in await unit.inbound.ids()]
        theirs = [m.raw for m in rows if m is not None and m.sender == ALI.address]
    assert [archive.read(name) for name in kept] == theirs  # as kept, byte for byte
    lines = lambda content: content.replace(b"\r\n", b"\n")
    assert lines(archive.read(kept[0])) == lines(stamp(raw))  # as sent, with the border server's stamp
    [notes] = [n for n in names if n.endswith("notes.txt")]
    assert archive.read(notes) == b"Our notes, plain text.\n"
    assert any(n.startswith("replies/") for n in names)
    assert not any(JANE.found_in(archive.read(n).decode("latin-1")) for n in names)
    async with runtime.store.reader() as unit:
        [audited] = [a for a in await unit.audit.trail() if a.action == "exported"]
    assert audited.entity == "person" and "ali" not in json.dumps(audited.detail).lower()


async def test_erasing_an_address_nothing_is_held_about_changes_nothing(runtime):
    await write_in(runtime, JANE, submission(JANE))
    await settle(runtime)
    before = await every_value(runtime)
    result = cib("personal-data", "erase", "nobody@example.org", "--reason", "asked", "--yes", env=_env(runtime))
    assert result.returncode == 0, result.stderr
    assert "Nothing is held about that address" in result.stdout
    assert await every_value(runtime) == before
    assert cib("personal-data", "find", "not an address", env=_env(runtime)).returncode == 2


async def test_every_acknowledgement_says_how_the_data_is_used_and_links_the_privacy_notice(
        settings_factory, clock, relay):
    notice = "https://www.local.gov.uk/cib/privacy-notice"
    runtime = create_service(settings_factory(privacy_notice_url=notice), clock=clock)
    await runtime.start(slack=False, scheduler=False)
    try:
        await write_in(runtime, ALI, submission(ALI))
        await settle(runtime)
        await write_in(runtime, ALI, message("Who should we speak to about the offers?", sender=ALI.address,
                                             subject="A question"))
        await settle(runtime)
    finally:
        await runtime.stop()
    acknowledgement, question = relay.to(ALI.address)
    for mail in (acknowledgement, question):
        text = mail.get_body(("plain",)).get_content()
        assert "uses the details you send only to run these offers and nominations" in text
        assert notice in text
    html = acknowledgement.get_body(("html",)).get_content()
    assert f'href="{notice}"' in html and "privacy notice</a>" in html


def test_check_warns_when_acknowledgements_would_link_to_no_privacy_notice(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    env.update(CIB_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3", COLUMNS="250")
    warned = subprocess.run([sys.executable, "-m", "intake", "check"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert warned.returncode == 0, warned.stderr
    assert "CIB_PRIVACY_NOTICE_URL is not set" in warned.stdout and "warning" in warned.stdout
    env["CIB_PRIVACY_NOTICE_URL"] = "https://www.local.gov.uk/cib/privacy-notice"
    quiet = subprocess.run([sys.executable, "-m", "intake", "check"], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=120)
    assert quiet.returncode == 0 and "CIB_PRIVACY_NOTICE_URL is not set" not in quiet.stdout
    assert "linked from every acknowledgement" in quiet.stdout


async def test_a_slack_identity_is_found_and_its_messages_go_with_the_address(runtime):
    from intake.messages import Inbound

    def slack(text: str, event: str, sender: str | None) -> Inbound:
        payload = {"event": {"type": "message", "user": "U0ALIKHAN1", "text": text}, "event_id": event}
        return Inbound(channel="slack", raw=json.dumps(payload).encode(), sender=sender, external_id=event, text=text,
                       meta={"slack_user": "U0ALIKHAN1", "slack_channel": "D0ALI", "source": "dm"})

    await runtime.service.receive(slack(f"Council: {ALI.council}\nOffer: PbR pathfinder\nContact name: {ALI.name}\n"
                                        "Contact role: Head of Service\nNumber of children's centres: 4", "Ev1",
                                        ALI.address))
    await runtime.service.receive(slack("and another thing", "Ev2", None))  # before Slack said who it was
    await write_in(runtime, JANE, submission(JANE))
    await settle(runtime)
    held = await runtime.personal.find(ALI.address)
    assert held.slack_users == ["U0ALIKHAN1"] and len(held.messages) == 2
    erased = await runtime.personal.erase(ALI.address, actor="team@local.gov.uk", reason="asked")
    assert erased.ok
    values = await every_value(runtime)
    assert traces_in_rows(values, ALI) == [] and not any("U0ALIKHAN1" in json.dumps(rows) for rows in values.values())
    assert [s["contact_name"] for s in (await runtime.service.export())["submissions"]] == ["[erased]", "Jane Smith"]


async def test_the_search_of_stored_messages_runs_off_the_event_loop(runtime, relay):
    """Finding what mentions a person reads every stored message: on a thread, so SMTP,
    Slack and the workspace are answered meanwhile."""
    await _two_councils(runtime)
    loop_thread, tested_on = threading.get_ident(), []

    def mentions(row) -> bool:
        tested_on.append(threading.get_ident())
        return True

    async with runtime.store.reader() as unit:
        found = await unit.personal.scan(InboundMessage, mentions)
    assert len(found) == len(tested_on) >= 3
    assert loop_thread not in tested_on
