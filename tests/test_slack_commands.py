"""`/cib`: questions through the core, modals, withdrawals with rights, and the CIB team's
digest and export."""
from __future__ import annotations

import csv
import io

from slack_support.harness import ADMIN, CAMDEN, CAMDEN_2, HULL, NO_EMAIL, slack  # noqa: F401
from slack_support.signing import command_form, dm_event, event_envelope

PBR = (
    "Offer: PbR pathfinder\nCouncil: Camden\nContact name: Jo Bloggs\n"
    "Contact role: Head of early help\nNumber of children's centres: 12"
)


async def submit_pbr(slack, user: str = CAMDEN) -> None:
    await slack.send.event(event_envelope(dm_event(user, PBR)))
    await slack.settle()
    slack.api.reset()


async def test_help_is_answered_in_a_dm_and_the_ack_says_so(slack):
    answer = await slack.send.command(command_form(CAMDEN, "help"))
    assert answer.status == 200
    assert "direct messages" in answer.json()["text"]
    await slack.settle()
    [reply] = slack.dm(CAMDEN)
    text = reply.all_text()
    assert "/cib eoi" in text and "/cib nominate" in text
    assert "Thursday 27 May 2027, 5pm" in text  # the deadlines, from the campaign


async def test_command_in_our_dm_is_acked_silently(slack):
    await slack.send.command(command_form(CAMDEN, "help"))
    await slack.settle()
    answer = await slack.send.command(command_form(CAMDEN, "deadlines", channel="D0CAMDEN1",
                                                   channel_name="directmessage"))
    assert answer.status == 200 and answer.text == ""


async def test_deadlines(slack):
    await slack.send.command(command_form(CAMDEN, "deadlines"))
    await slack.settle()
    [reply] = slack.dm(CAMDEN)
    text = reply.all_text()
    for title in ("Early adopter", "Payment by Results", "Regional children's improvement leads"):
        assert title in text
    assert "Monday 7 June 2027, 5pm" in text


async def test_unknown_words_get_help_not_silence(slack):
    await slack.send.command(command_form(CAMDEN, "frobnicate the widgets"))
    await slack.settle()
    [reply] = slack.dm(CAMDEN)
    assert "/cib eoi" in reply.all_text()


async def test_status_lists_the_councils_references(slack):
    await submit_pbr(slack)
    await slack.send.command(command_form(CAMDEN_2, "status"))
    await slack.settle()
    [reply] = slack.dm(CAMDEN_2)
    text = reply.all_text()
    assert "What we hold for London Borough of Camden" in text
    assert "PBR-0001" in text and "active" in text
    assert "PBR-0001" in reply["text"]


async def test_withdraw_own_councils_submission(slack):
    await submit_pbr(slack)
    await slack.send.command(command_form(CAMDEN_2, "withdraw pbr-0001"))
    await slack.settle()
    [reply] = slack.dm(CAMDEN_2)
    assert "PBR-0001" in reply.all_text() and "withdrawn" in reply.all_text()
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["status"] == "withdrawn"
    [notice] = slack.team_notices()
    assert "PBR-0001 withdrawn" in notice["text"]


async def test_another_council_cannot_withdraw_without_the_contacts_confirmation(slack, relay):
    await submit_pbr(slack)
    slack.api.reset()
    await slack.send.command(command_form(HULL, "withdraw PBR-0001"))
    await slack.settle()
    await slack.runtime.delivery.flush()
    [reply] = slack.dm(HULL)
    assert "needs confirming" in reply.all_text()
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["status"] == "active"
    # The contact on record is asked by email; the team hears that the change is held.
    [request] = relay.to(submission["contact_email"])
    assert "withdraw it" in request.get_body(("plain",)).get_content()
    [notice] = slack.team_notices()
    assert "held until its contact on record confirms" in notice["text"]


async def test_cib_team_member_may_withdraw_anything(slack):
    await submit_pbr(slack)
    await slack.send.command(command_form(ADMIN, "withdraw PBR-0001"))
    await slack.settle()
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["status"] == "withdrawn"


async def test_withdraw_without_a_reference_gets_a_hint_at_once(slack):
    answer = await slack.send.command(command_form(CAMDEN, "withdraw"))
    assert "PBR-0007" in answer.json()["text"]
    await slack.settle()
    assert slack.api.count("chat.postMessage") == 0


async def test_unknown_reference(slack):
    await slack.send.command(command_form(CAMDEN, "withdraw EA-0099"))
    await slack.settle()
    [reply] = slack.dm(CAMDEN)
    assert "no submission with the reference *EA-0099*" in reply.all_text()


async def test_retried_command_answers_once(slack):
    form = command_form(CAMDEN, "deadlines")
    await slack.send.command(form)
    await slack.send.command(form, retry_num=1)
    await slack.settle()
    assert len(slack.dm(CAMDEN)) == 1


# --- the CIB team -----------------------------------------------------------------------------


async def test_export_is_for_the_team_only(slack):
    answer = await slack.send.command(command_form(CAMDEN, "export"))
    assert answer.status == 200
    assert "CIB programme team only" in answer.json()["text"]
    await slack.settle()
    assert slack.api.count("files.getUploadURLExternal") == 0


async def test_export_uploads_a_csv_to_the_team_member(slack):
    await submit_pbr(slack)
    answer = await slack.send.command(command_form(ADMIN, "export"))
    assert answer.status == 200
    await slack.settle()
    [start] = slack.api.calls_to("files.getUploadURLExternal")
    assert start["filename"].startswith("cib-submissions-") and start["filename"].endswith(".csv")
    [complete] = slack.api.calls_to("files.completeUploadExternal")
    assert complete["channel_id"] == "D0CIBTEAM"
    assert "1 submission" in complete["initial_comment"]
    content = slack.api.uploads[start_file_id(slack)].decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [row["reference"] for row in rows] == ["PBR-0001"]


def start_file_id(slack) -> str:
    [upload] = slack.api.calls_to("upload")
    return upload["file_id"]


async def test_digest_for_the_team_only(slack):
    answer = await slack.send.command(command_form(HULL, "digest"))
    assert "CIB programme team only" in answer.json()["text"]
    await slack.send.command(command_form(ADMIN, "digest"))
    await slack.settle()
    [reply] = slack.dm(ADMIN)
    text = reply.all_text()
    assert "What arrived" in text
    assert "Places and expressions of interest" in text


async def test_admin_listed_by_email_is_recognised(settings_factory, clock):
    from intake.runtime.composition import create_service
    from slack_support.harness import make_api, slack_settings
    from slack_support.signing import SlackSender

    api = await make_api().start()
    runtime = create_service(
        slack_settings(settings_factory, api, admin_slack_users=["Amy.Team@local.gov.uk"]), clock=clock
    )
    await runtime.start(smtp=False, slack=True, scheduler=False)
    try:
        async with SlackSender(runtime.slack.url) as send:
            assert (await send.command(command_form(ADMIN, "export"))).status == 200
            await runtime.slack.drain(10)
            assert api.count("files.completeUploadExternal") == 1
            assert (await send.command(command_form(NO_EMAIL, "export"))).status == 200
            await runtime.slack.drain(10)
            assert api.count("files.completeUploadExternal") == 1
            [refusal] = [c for c in api.calls_to("chat.postMessage") if c["channel"] == "D0NOMAIL1"]
            assert "CIB programme team only" in refusal.all_text()
    finally:
        await runtime.stop()
        await api.stop()
