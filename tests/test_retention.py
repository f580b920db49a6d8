"""The retention periods on a simulated clock: `cib personal-data retention --as-of` as an
operator runs it, and the scheduler's own job under the `clock` fixture. Raw messages go
90 days after the last deadline (7 June 2027), the entries' people 365 days after it,
sign-in records once spent; the entries stay counted throughout."""
from __future__ import annotations

import json

from intake.jobs.retention_job import apply_retention
from tests.mailer import message, settle
from tests.personal_data_support import (
    Person,
    every_value,
    service_to_maildir,
    sqlite_files,
    submission,
    traces_in_files,
    traces_in_maildir,
    traces_in_rows,
    write_in,
)
from tests.team_browser import TeamBrowser
from tests.test_personal_data import _env, cib

ALI = Person("ali.khan@bury.gov.uk", "Ali Khan", "0161 496 0321", "Bury Metropolitan Borough Council")
JANE = Person("jane.smith@camden.gov.uk", "Jane Smith", "020 7946 0654", "London Borough of Camden")


async def _counts(runtime) -> dict[str, int]:
    values = await every_value(runtime)
    return {table: len(rows) for table, rows in values.items()}


async def test_raw_messages_go_after_the_period_and_the_counts_stay(runtime, relay, clock):
    for person, raw in ((ALI, submission(ALI)), (JANE, submission(JANE)),
                        (ALI, message(f"Please ring me on {ALI.phone}", sender=ALI.address, subject="Call me"))):
        await write_in(runtime, person, raw)
        await settle(runtime)
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)  # a used sign-in link, and a session that lapses in 12 hours
    env = _env(runtime)
    before = json.loads(cib("export", env=env).stdout)

    early = cib("personal-data", "retention", "--as-of", "2027-09-05T12:00", "--dry-run", env=env)
    assert early.returncode == 0, early.stderr
    assert "messages as they came" not in early.stdout and "spent sign-in links" in early.stdout
    listed = cib("personal-data", "retention", "--as-of", "2027-09-06T12:00", "--dry-run", env=env)
    assert "messages as they came (with attachments) │ 3" in listed.stdout and "Dry run" in listed.stdout
    assert (await _counts(runtime))["inbound_messages"] == 3  # nothing removed by a dry run

    done = cib("personal-data", "retention", "--as-of", "2027-09-06T12:00", env=env)
    assert done.returncode == 0, done.stderr
    counts = await _counts(runtime)
    assert counts["inbound_messages"] == 0 and counts["outbound_messages"] == 0
    assert counts["team_sign_in_links"] == 0 and counts["team_sessions"] == 0
    after = json.loads(cib("export", env=env).stdout)
    # The entries, names and all, until their own period ends; what was proven about the
    # sender was kept with the message, and went with it.
    proof = lambda data: [{**s, "sender_authentication": ""} for s in data["submissions"]]
    assert proof(after) == proof(before) and after["enquiries"] == before["enquiries"]

    # A year after the last deadline, on the scheduler's own job and the simulated clock.
    clock.set("2028-06-07T12:00:00+01:00")
    report = await apply_retention(runtime.jobs)
    assert ("entries' names, addresses and contact details (the entries stay counted)", 2,
            "PBR-0001, PBR-0002") in report.listing
    exported = await runtime.service.export()
    assert len(exported["submissions"]) == 2 and len(exported["enquiries"]) == 1
    for kept, now in zip(before["submissions"], exported["submissions"], strict=True):
        assert now["contact_name"] == now["contact_email"] == "[erased]"
        assert {k: now[k] for k in ("council_code", "offer", "status", "verified", "fields")} == {
            k: kept[k] if k != "fields" else {**kept[k], "contact_name": "[erased]", "contact_email": "[erased]",
                                               "contact_role": "[erased]"}
            for k in ("council_code", "offer", "status", "verified", "fields")}
    values = await every_value(runtime)
    for person in (ALI, JANE):
        assert traces_in_rows(values, person) == []
        assert traces_in_files(sqlite_files(runtime), person) == []
    assert (await apply_retention(runtime.jobs)).listing == []  # done once, nothing more to do


async def test_the_outbox_folder_keeps_copies_no_longer_than_the_messages(settings_factory, clock, tmp_path):
    async with service_to_maildir(settings_factory, clock, tmp_path / "outbox") as runtime:
        await write_in(runtime, ALI, submission(ALI))
        await settle(runtime)
        assert traces_in_maildir(runtime.settings.outbox_dir, ALI)
        result = cib("personal-data", "retention", "--as-of", "2027-09-06T12:00", env=_env(runtime))
        assert result.returncode == 0, result.stderr
        assert "copies in the outbox folder" in result.stdout
        assert traces_in_maildir(runtime.settings.outbox_dir, ALI) == []
