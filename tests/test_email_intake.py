"""The email channel end to end: real SMTP in, replies read from a real local relay."""
from __future__ import annotations

import asyncio
import re
import smtplib
import textwrap

import pytest
from sqlalchemy import text

from intake.runtime.composition import create_service
from tests.mailer import body_text, message, send, settle, smtp_error

PBR = """
    Council: London Borough of Camden
    Contact name: Jane Smith
    Contact role: Head of Early Help
    Number of children's centres: 12
"""


async def test_submission_is_acknowledged_with_reference_and_threaded(runtime, relay):
    raw = message(PBR, subject="EOI - Payment by Results pathfinder", message_id="<eoi-1@camden.gov.uk>")
    code, answer = await send(runtime, raw)
    assert code == 250
    await settle(runtime)

    [reply] = relay.to("jane.smith@camden.gov.uk")
    assert reply["In-Reply-To"] == "<eoi-1@camden.gov.uk>"
    assert "<eoi-1@camden.gov.uk>" in reply["References"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["Subject"] == "Re: EOI - Payment by Results pathfinder"
    text_part = body_text(reply)
    assert "PBR-0001" in text_part
    assert "Number of children's centres: 12" in text_part
    assert reply.get_body(("html",)) is not None
    # Replies leave with a null reverse-path so nothing can bounce back into a loop.
    assert relay.envelopes[0][0] == "<>"

    data = await runtime.service.export()
    [submission] = data["submissions"]
    assert submission["reference"] == "PBR-0001"
    assert submission["council_code"] == "E09000007"
    assert submission["region"] == "London"
    assert submission["contact_email"] == "jane.smith@camden.gov.uk"
    assert submission["fields"]["centres"] == 12
    assert submission["verified"] is True and submission["late"] is False
    assert submission["status"] == "active" and submission["channel"] == "email"


async def test_other_recipients_are_refused_at_rcpt(runtime):
    error = await asyncio.to_thread(
        smtp_error, runtime, message(PBR), mail_from="jane.smith@camden.gov.uk", to="someone@cib.test"
    )
    assert isinstance(error, smtplib.SMTPRecipientsRefused)
    code, text_ = error.recipients["someone@cib.test"]
    assert code == 550 and b"5.1.1" in text_


async def test_same_message_id_twice_changes_nothing(runtime, relay):
    raw = message(PBR, subject="PbR pathfinder", message_id="<same@camden.gov.uk>")
    assert (await send(runtime, raw))[0] == 250
    assert (await send(runtime, raw))[0] == 250
    await settle(runtime)
    assert len((await runtime.service.export())["submissions"]) == 1
    assert len(relay.messages) == 1


async def test_message_over_the_size_limit_gets_552(settings_factory, clock, relay):
    runtime = create_service(settings_factory(max_message_size=2000), clock=clock)
    await runtime.start(slack=False, scheduler=False)
    try:
        raw = message(PBR + "\n" + "x" * 5000, subject="PbR")
        error = await asyncio.to_thread(
            smtp_error, runtime, raw, mail_from="jane.smith@camden.gov.uk", to="eoi@cib.test"
        )
        assert isinstance(error, smtplib.SMTPResponseException) and error.smtp_code == 552
    finally:
        await runtime.stop()


async def test_failure_to_store_is_451_and_a_retry_is_kept(runtime, relay):
    # A real storage failure: the table the raw message goes into is not there.
    async with runtime.store.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE inbound_messages RENAME TO inbound_messages_away"))
    raw = message(PBR, subject="PbR pathfinder", message_id="<retry@camden.gov.uk>")
    code, _ = await send(runtime, raw)
    assert code == 451
    async with runtime.store.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE inbound_messages_away RENAME TO inbound_messages"))
    code, _ = await send(runtime, raw)
    assert code == 250
    await settle(runtime)
    assert [s["reference"] for s in (await runtime.service.export())["submissions"]] == ["PBR-0001"]


async def test_missing_fields_get_a_form_and_a_reply_completes_it(runtime, relay):
    first = message(
        """
        Council: Camden
        Contact name: Jane Smith
        Contact role: Head of Early Help
        """,
        subject="Payment by Results pathfinder",
        message_id="<first@camden.gov.uk>",
    )
    await send(runtime, first)
    await settle(runtime)
    [missing] = relay.messages
    body = body_text(missing)
    assert "Enter the number of children's centres" in body
    assert "Council: London Borough of Camden" in body  # the form comes back pre-filled
    assert re.search(r"^Number of children's centres:\s*$", body, re.M)  # left blank to fill in
    assert (await runtime.service.export())["submissions"] == []

    answer = message(
        "Number of children's centres: 9\n\nJane",
        subject=f"RE: {missing['Subject']}",
        headers={"In-Reply-To": missing["Message-ID"], "References": missing["Message-ID"]},
    )
    await send(runtime, answer)
    await settle(runtime)
    ack = relay.messages[-1]
    assert "PBR-0001" in body_text(ack)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["fields"]["centres"] == 9
    assert submission["contact_name"] == "Jane Smith"


async def test_reference_amends_and_withdraws_only_for_the_council(runtime, relay):
    await send(runtime, message(PBR, subject="PbR pathfinder"))
    await settle(runtime)

    await send(runtime, message("Number of children's centres: 14", subject="Change to PBR-0001"))
    await settle(runtime)
    assert "centres" in body_text(relay.messages[-1]).lower()
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["fields"]["centres"] == 14

    intruder = message("Please withdraw PBR-0001", sender="someone@hackney.gov.uk", subject="Withdraw PBR-0001")
    await send(runtime, intruder, mail_from="someone@hackney.gov.uk")
    await settle(runtime)
    # Another council's officer: held, and the contact on record is asked to confirm.
    assert "needs confirming" in body_text(relay.to("someone@hackney.gov.uk")[-1])
    [request] = [m for m in relay.to("jane.smith@camden.gov.uk") if "confirm" in m["Subject"].lower()]
    assert "withdraw it" in body_text(request) and "someone@hackney.gov.uk" in body_text(request)
    assert (await runtime.service.export())["submissions"][0]["status"] == "active"

    colleague = message("Withdraw PBR-0001 please", sender="dcs@camden.gov.uk", subject="Withdraw")
    await send(runtime, colleague, mail_from="dcs@camden.gov.uk")
    await settle(runtime)
    assert "PBR-0001" in body_text(relay.to("dcs@camden.gov.uk")[-1])
    assert (await runtime.service.export())["submissions"][0]["status"] == "withdrawn"

    async with runtime.store.reader() as unit:
        actions = [entry.action for entry in await unit.audit.trail("PBR-0001")]
    assert actions == ["created", "amended", "held", "withdrawn"]


async def test_sender_outside_the_council_is_unverified_and_told(runtime, relay):
    raw = message(PBR, sender="jane.smith@gmail.com", subject="PbR pathfinder")
    await send(runtime, raw, mail_from="jane.smith@gmail.com")
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["verified"] is False
    assert "will check it with the council" in body_text(relay.messages[0])


async def test_late_submission_is_kept_marked_and_told(runtime, relay, clock):
    clock.set("2027-05-28T09:00:00+01:00")
    await send(runtime, message(PBR, subject="PbR pathfinder"))
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["late"] is True
    assert "after the deadline" in body_text(relay.messages[0])


@pytest.mark.parametrize(
    "headers, mail_from",
    [
        ({"Auto-Submitted": "auto-replied"}, "jane.smith@camden.gov.uk"),
        ({"Precedence": "bulk"}, "jane.smith@camden.gov.uk"),
        ({"List-Id": "<children.lists.example.org>"}, "jane.smith@camden.gov.uk"),
        ({}, ""),  # null reverse-path: a bounce
    ],
)
async def test_automatic_messages_are_kept_and_never_answered(runtime, relay, headers, mail_from):
    raw = message("Automatic reply: I am out of the office.", subject="Automatic reply: EOI", headers=headers)
    code, _ = await send(runtime, raw, mail_from=mail_from)
    assert code == 250
    await settle(runtime)
    assert relay.messages == []
    async with runtime.store.reader() as unit:
        [inbound] = [await unit.inbound.get(i) for i in await unit.inbound.ids()]
    assert inbound.status == "ignored" and inbound.classification == "automatic"


async def test_two_offers_in_one_email_are_two_submissions(runtime, relay):
    raw = message(
        """
        Offer: PbR pathfinder and children's centres support
        Council: Hertfordshire County Council
        Contact name: Sam Patel
        Contact role: Assistant Director
        Number of children's centres: 30
        Support needed: Help reviewing sufficiency of centres in rural areas
        """,
        sender="sam.patel@hertfordshire.gov.uk",
        subject="Expressions of interest",
    )
    await send(runtime, raw, mail_from="sam.patel@hertfordshire.gov.uk")
    await settle(runtime)
    references = sorted(s["reference"] for s in (await runtime.service.export())["submissions"])
    assert references == ["CCS-0001", "PBR-0001"]
    body = body_text(relay.messages[0])
    assert "PBR-0001" in body and "CCS-0001" in body


async def test_nomination_acknowledged_with_roles_still_unnamed(runtime, relay):
    raw = message(
        """
        Region: London
        Lead member: Cllr Ann Jones, London Borough of Camden, ann.jones@camden.gov.uk
        Lead DCS: Tom Brown, Hackney, tom.brown@hackney.gov.uk
        """,
        subject="Regional leads for London",
    )
    await send(runtime, raw)
    await settle(runtime)
    body = body_text(relay.messages[0])
    assert "RL-0001" in body
    assert "Still to be named for London: Lead chief executive." in body
    nominations = (await runtime.service.export())["nominations"]
    assert {(n["role"], n["name"]) for n in nominations} == {
        ("lead-member", "Cllr Ann Jones"),
        ("lead-dcs", "Tom Brown"),
    }
    assert all(n["region"] == "London" for n in nominations)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("When is the PbR deadline?", "Thursday 27 May 2027, 5pm"),
        ("What deadlines are coming up?", "Monday 7 June 2027, 5pm"),
        ("Send me the form for the early adopter offer", "Areas for peer challenge:"),
        ("Who are the regional leads for London?", "Lead member: not yet named"),
        # A date asked for about the leads is the date, not the grid of the leads.
        ("What is the closing date for the regional lead nominations?", "The deadline is Monday 31 May 2027, midnight"),
        ("When do we need to send names for the regional leads by?", "The deadline is Monday 31 May 2027, midnight"),
        ("Which date do regional lead nominations close?", "The deadline is Monday 31 May 2027, midnight"),
    ],
)
async def test_queries_are_answered(runtime, relay, question, expected):
    await send(runtime, message(question, subject=question))
    await settle(runtime)
    answer = body_text(relay.messages[0])
    assert expected in answer
    if "date" in question or "by?" in question:
        assert "not yet named" not in answer  # no grid of leads for a question about a date


@pytest.mark.parametrize("subject, body", [("help", "help"), ("Help", ""), ("", "Help!"), ("HELP", "please help")])
async def test_help_is_answered_not_passed_to_the_team(runtime, relay, subject, body):
    await send(runtime, message(body, subject=subject))
    await settle(runtime)
    assert (await runtime.service.export())["enquiries"] == []
    answer = body_text(relay.messages[0])
    assert "You can send the Children's Improvement Board:" in answer  # the help itself
    assert "passed to the CIB programme team" not in answer


async def test_what_have_we_submitted_answers_for_the_senders_council(runtime, relay):
    await send(runtime, message(PBR, subject="PbR pathfinder"))
    await settle(runtime)
    await send(runtime, message("What have we submitted?", sender="dcs@camden.gov.uk", subject="Status"),
               mail_from="dcs@camden.gov.uk")
    await settle(runtime)
    body = body_text(relay.to("dcs@camden.gov.uk")[0])
    assert "What we hold for London Borough of Camden" in body
    assert "PBR-0001" in body
    assert "Early adopter" in body  # not yet received


async def test_free_text_is_an_enquiry_for_the_team(runtime, relay):
    question = "We are thinking about peer challenge with our neighbours but want to talk it through first."
    await send(runtime, message(question, subject="A question"))
    await settle(runtime)
    [enquiry] = (await runtime.service.export())["enquiries"]
    assert enquiry["text"].startswith("We are thinking about peer challenge")
    assert enquiry["sender"] == "jane.smith@camden.gov.uk"
    assert "passed to the CIB programme team" in body_text(relay.messages[0])


async def test_message_kept_before_a_stop_is_processed_on_start(settings_factory, clock, relay):
    first = create_service(settings_factory(), clock=clock)
    await first.start(slack=False, scheduler=False)
    # Kept (as the SMTP handler does before its 250) but the service stops before processing.
    from intake.messages import Inbound

    kept = await first.service.keep(
        Inbound(channel="email", raw=message(PBR, subject="PbR pathfinder"), sender="jane.smith@camden.gov.uk",
                external_id="<kept@camden.gov.uk>")
    )
    await first.stop()
    assert relay.messages == []

    second = create_service(settings_factory(), clock=clock)
    await second.start(slack=False, scheduler=False)
    try:
        await settle(second)
        assert [s["reference"] for s in (await second.service.export())["submissions"]] == ["PBR-0001"]
        assert "PBR-0001" in body_text(relay.messages[0])
        async with second.store.reader() as unit:
            assert (await unit.inbound.get(kept.id)).status == "processed"
    finally:
        await second.stop()


async def test_replay_is_idempotent(runtime, relay):
    await send(runtime, message(PBR, subject="PbR pathfinder"))
    await send(runtime, message("Hello, a question about the programme", subject="Hello"))
    await settle(runtime)
    before = (await runtime.service.export(), len(relay.messages))
    outcomes = await runtime.service.replay()
    await settle(runtime)
    assert [o.classification for o in outcomes] == ["submission", "enquiry"]
    assert (await runtime.service.export(), len(relay.messages)) == before


async def test_relay_failure_is_retried_and_not_marked_sent(runtime, relay, clock):
    from datetime import timedelta

    relay.fail_next = 1
    await send(runtime, message(PBR, subject="PbR pathfinder"))
    await settle(runtime)
    assert relay.messages == []
    async with runtime.store.reader() as unit:
        [row] = await unit.outbound.all()
    assert row.status == "pending" and row.attempts == 1 and row.error
    clock.set(clock.now + timedelta(minutes=5))
    await runtime.delivery.deliver_due()
    assert len(relay.messages) == 1
    async with runtime.store.reader() as unit:
        [row] = await unit.outbound.all()
    assert row.status == "sent"


async def test_a_field_gets_one_message_worded_as_govuk_asks(runtime, relay):
    await send(runtime, message("""
        Council: Camden
        Contact name: Jane Smith
        Number of children's centres: lots
    """, subject="Payment by Results pathfinder"))
    await settle(runtime)
    body = body_text(relay.messages[-1])
    assert body.count("Number of children's centres must be a whole number (we read 'lots')") == 1
    assert "Enter the number of children's centres" not in body  # one message for the field
    assert "Enter the contact role" in body


async def test_a_subject_of_one_long_word_is_answered_with_a_short_one(runtime, relay):
    # A header line has a limit the relay enforces ("500 Line too long"): ours is cut.
    await send(runtime, message("What deadlines are coming up?", subject="x" * 2000))
    await settle(runtime)
    [reply] = relay.messages
    assert str(reply["Subject"]).strip().startswith("Re: xxx") and len(str(reply["Subject"])) < 250
    assert "deadline" in body_text(reply).lower()


async def test_a_note_to_a_pa_inside_a_forward_is_not_passed_to_the_team(runtime, relay):
    forward = f"""
        Gemma – can you send this to the CIB please? Thanks, Sarah

        ---------- Forwarded message ---------
        From: Sarah Jones <dcs@camden.gov.uk>
        Subject: PbR pathfinder
        {textwrap.dedent(PBR).strip()}
    """
    await send(runtime, message(forward, subject="FW: PbR pathfinder"))
    await settle(runtime)
    exported = await runtime.service.export()
    assert [s["reference"] for s in exported["submissions"]] == ["PBR-0001"]
    assert exported["enquiries"] == []  # no question kept for the team
