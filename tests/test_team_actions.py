"""The CIB team's actions, as the team runs them (`cib verify|reject|decide|audit` in a
subprocess against the database the running service filled), and as the sender hears of
them: a reply through the channel their entry came by."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.campaign_seed import submit
from tests.mailer import body_text, message, send, settle
from slack_support.harness import CAMDEN, slack  # noqa: F401
from slack_support.signing import dm_event, event_envelope

PBR = """
    Council: Slough Borough Council
    Contact name: Sam Khan
    Contact role: Head of Early Help
    Number of children's centres: 9
"""


async def cib(*args: str, runtime, relay) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess while this loop goes on serving the test relay."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
    env.update(
        CIB_DATABASE_URL=runtime.settings.database_url, CIB_RELAY_HOST="127.0.0.1", CIB_RELAY_PORT=str(relay.port),
        CIB_FROM_ADDRESS="CIB intake <eoi@cib.test>", CIB_INTAKE_ADDRESSES="eoi@cib.test", COLUMNS="200",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "intake", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return subprocess.CompletedProcess(args, process.returncode or 0, out.decode(), err.decode())


async def _unverified(runtime, relay) -> str:
    raw = message(PBR, sender="sam.khan@gmail.com", subject="PbR pathfinder", message_id="<eoi-7@gmail.com>")
    await send(runtime, raw, mail_from="sam.khan@gmail.com")
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["verified"] is False
    return submission["reference"]


async def test_verify_counts_the_entry_tells_the_sender_and_is_audited(runtime, relay):
    reference = await _unverified(runtime, relay)
    result = await cib("verify", reference, "--as", "anna@local.gov.uk", runtime=runtime, relay=relay)
    assert result.returncode == 0, result.stderr
    assert f"{reference} is verified. The sender has been told." in result.stdout
    assert (await runtime.service.export())["submissions"][0]["verified"] is True

    told = relay.to("sam.khan@gmail.com")[-1]
    assert told["Subject"] == "Re: PbR pathfinder" and told["In-Reply-To"] == "<eoi-7@gmail.com>"
    assert "it is confirmed, and it counts" in body_text(told)

    trail = await cib("audit", reference, runtime=runtime, relay=relay)
    assert trail.returncode == 0
    assert "created" in trail.stdout and "verified" in trail.stdout and "anna@local.gov.uk" in trail.stdout

    again = await cib("verify", reference, runtime=runtime, relay=relay)
    assert again.returncode == 0 and "already verified" in again.stdout
    assert len(relay.to("sam.khan@gmail.com")) == 2  # the acknowledgement and one confirmation


async def test_reject_needs_a_reason_and_tells_it(runtime, relay):
    reference = await _unverified(runtime, relay)
    assert (await cib("reject", reference, runtime=runtime, relay=relay)).returncode == 2  # --reason is required
    result = await cib("reject", reference, "--reason", "Not sent by the council.", runtime=runtime, relay=relay)
    assert result.returncode == 0, result.stderr
    assert (await runtime.service.export())["submissions"][0]["status"] == "rejected"
    assert "Not sent by the council." in body_text(relay.to("sam.khan@gmail.com")[-1])
    assert (await cib("decide", reference, "accept", runtime=runtime, relay=relay)).returncode == 1  # rejected: not decided


async def test_an_unknown_reference_is_said_so(runtime, relay):
    result = await cib("verify", "PBR-0999", runtime=runtime, relay=relay)
    assert result.returncode == 1 and "No entry has the reference PBR-0999" in result.stdout


async def test_an_unverified_entry_is_not_accepted_until_verified(runtime, relay):
    reference = await _unverified(runtime, relay)
    refused = await cib("decide", reference, "accept", runtime=runtime, relay=relay)
    assert refused.returncode == 1 and "verify it" in refused.stdout


async def test_no_more_are_accepted_than_the_offer_has_places(runtime, relay):
    councils = [c for c in runtime.councils if c.email_domains][:32]
    for council in councils:
        await submit(runtime, "pbr-pathfinder", council.name, sender=f"officer@{council.email_domains[0]}")
    references = [s["reference"] for s in (await runtime.service.export())["submissions"]]
    assert len(references) == 32
    for reference in references[:30]:
        assert (await runtime.team.decide(reference, "accept", actor="anna")).ok

    full = await cib("decide", references[30], "accept", runtime=runtime, relay=relay)
    assert full.returncode == 1 and "all 30 places for PbR pathfinder are taken" in full.stdout
    waitlisted = await cib("decide", references[30], "waitlist", "--note", "First in line.", runtime=runtime, relay=relay)
    assert waitlisted.returncode == 0, waitlisted.stderr
    told = relay.to(f"officer@{councils[30].email_domains[0]}")[-1]
    assert "on the waiting list" in body_text(told) and "First in line." in body_text(told)

    # A place given up is free again.
    assert (await runtime.team.decide(references[0], "decline", actor="anna")).ok
    assert (await runtime.team.decide(references[30], "accept", actor="anna")).ok
    assert not (await runtime.team.decide(references[31], "accept", actor="anna")).ok

    # The database itself refuses a 31st place, and a place held twice.
    for place in (31, 2):
        with pytest.raises(IntegrityError):
            async with runtime.store.unit() as unit:
                await unit.session.execute(
                    text("UPDATE submissions SET place = :place, decision = 'accepted' WHERE reference = :reference"),
                    {"place": place, "reference": references[31]},
                )


async def test_a_slack_entry_hears_the_decision_in_slack(slack):
    text_ = ("Offer: PbR pathfinder\nCouncil: Camden\nContact name: Jo Bloggs\n"
             "Contact role: Head of early help\nNumber of children's centres: 12")
    await slack.send.event(event_envelope(dm_event(CAMDEN, text_)))
    await slack.settle()
    slack.api.reset()
    [submission] = (await slack.runtime.service.export())["submissions"]
    done = await slack.runtime.team.decide(submission["reference"], "accept", actor="anna", note="Welcome aboard.")
    assert done.ok and done.told
    await slack.runtime.slack_poster.flush()
    [told] = slack.dm(CAMDEN)
    assert "is accepted" in told.all_text() and "Welcome aboard." in told.all_text()


async def test_an_enquiry_from_slack_is_answered_in_slack(slack):
    await slack.send.event(event_envelope(dm_event(CAMDEN, "Could someone explain how the peer challenge works for a small council?")))
    await slack.settle()
    slack.api.reset()
    [enquiry] = (await slack.runtime.service.export())["enquiries"]
    async with slack.runtime.store.reader() as unit:
        [row] = await unit.enquiries.all()
    done = await slack.runtime.team.answer(row.id, "Yes: the cycle is the same; we pair you with a similar council.",
                                           actor="anna")
    assert done.ok and done.told and enquiry["channel"] == "slack"
    await slack.runtime.slack_poster.flush()
    [told] = slack.dm(CAMDEN)
    assert "has answered your message" in told.all_text() and "we pair you with a similar council" in told.all_text()
