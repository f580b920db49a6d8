"""The CIB team's actions in Slack, through the bot's real HTTP endpoint with requests signed
as Slack signs them: the Verify and Reject buttons on the notice about an unverified entry
(and the modal asking why), and `/cib verify|reject|decide|audit`. Each does what the
team's `cib` commands do: the entry changes, the audit trail says who (slack:<user id>),
and the sender is told by the channel their entry came by."""
from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from slack_support.harness import (
    ADMIN, CAMDEN, HULL, OUTSIDER, TEAM_CHANNEL, SlackWorld, make_api, slack_settings,
)
from slack_support.signing import SlackSender, command_form, dm_event, event_envelope, new_ts, view_submission
from slack_support.webapi import BOT_ID, BOT_USER_ID, Call

from intake.runtime.composition import create_service
from intake.runtime.settings import Settings

ADMIN_2 = "U0CIBTEAM2"  # a second CIB team member
_urls = itertools.count(1)

# A PbR expression of interest for Camden from someone whose Slack email is not Camden's.
PBR = (
    "Offer: PbR pathfinder\nCouncil: Camden\nContact name: Some One\n"
    "Contact role: Consultant\nNumber of children's centres: 12"
)


@pytest.fixture
async def slack(settings_factory: Callable[..., Settings], clock: Any) -> AsyncIterator[SlackWorld]:
    """The harness's running service, with two team members."""
    api = make_api()
    api.add_user(ADMIN_2, "bo.team@local.gov.uk", name="Bo Team")
    await api.start()
    runtime = create_service(slack_settings(settings_factory, api, admin_slack_users=[ADMIN, ADMIN_2]), clock=clock)
    await runtime.start(smtp=False, slack=True, scheduler=False)
    try:
        async with SlackSender(runtime.slack.url) as send:
            yield SlackWorld(runtime, api, send)
    finally:
        await runtime.stop()
        await api.stop()


async def unverified_entry(slack: SlackWorld) -> tuple[str, Call]:
    """An entry from a sender outside the council's domains; its reference and the team's
    notice about it."""
    await slack.send.event(event_envelope(dm_event(OUTSIDER, PBR)))
    await slack.settle()
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["verified"] is False and submission["status"] == "active"
    [notice] = slack.team_notices()
    slack.api.reset()
    return submission["reference"], notice


def click(user: str, notice: Call, action_id: str, *, response_url: str = "") -> dict[str, Any]:
    """A block_actions payload for a button on the notice, as Slack sends it: with the
    message the button is on."""
    [block] = [b for b in notice.blocks if b["type"] == "actions"]
    [button] = [e for e in block["elements"] if e["action_id"] == action_id]
    ts = new_ts()
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification-token",
        "container": {"type": "message", "message_ts": ts, "channel_id": TEAM_CHANNEL, "is_ephemeral": False},
        "trigger_id": f"{next(_urls)}.111.team",
        "team": {"id": "T111", "domain": "cib-test"},
        "channel": {"id": TEAM_CHANNEL, "name": "cib-team"},
        "message": {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts,
                    "text": notice["text"], "blocks": notice.blocks},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": block["block_id"], "value": button["value"],
                     "type": "button", "action_ts": new_ts(), "text": button["text"]}],
    }


def answers(slack: SlackWorld, name: str) -> list[Call]:
    """What the bot sent to the response_url called `name`."""
    return [c for c in slack.api.calls_to("response_url") if c["name"] == name]


async def told(slack: SlackWorld, user: str) -> str:
    """Everything posted to `user`'s DM once the outbox has delivered what was recorded."""
    await slack.runtime.slack_poster.flush()
    return "\n".join(post.all_text() for post in slack.dm(user))


async def trail(slack: SlackWorld, reference: str) -> list[tuple[str, str]]:
    return [(entry.actor, entry.action) for entry in await slack.runtime.team.audit(reference)]


async def entry(slack: SlackWorld) -> dict[str, Any]:
    [submission] = (await slack.runtime.service.export())["submissions"]
    return submission


# --- the notice's buttons ---------------------------------------------------------------------


async def test_the_notice_about_an_unverified_entry_has_verify_and_reject_buttons(slack):
    reference, notice = await unverified_entry(slack)
    assert "unverified sender" in notice["text"] and reference in notice["text"]
    [block] = [b for b in notice.blocks if b["type"] == "actions"]
    assert block["block_id"] == f"team:{reference}"
    assert [(e["action_id"], e["value"], e["text"]["text"]) for e in block["elements"]] == [
        ("team_verify", reference, "Verify"), ("team_reject", reference, "Reject"),
    ]


async def test_a_verified_senders_notice_has_no_buttons(slack):
    await slack.send.event(event_envelope(dm_event(CAMDEN, PBR.replace("Some One", "Jo Bloggs"))))
    await slack.settle()
    [notice] = slack.team_notices()
    assert "unverified" not in notice["text"]
    assert not [b for b in notice.blocks if b["type"] == "actions"]


async def test_an_unverified_nomination_has_the_buttons_too(slack):
    text = ("Regional leads nomination\nRegion: Yorkshire and the Humber\n"
            "Lead DCS: Dana Smith, Hull City Council, dana.smith@hull.gov.uk")
    await slack.send.event(event_envelope(dm_event(OUTSIDER, text)))
    await slack.settle()
    [notice] = slack.team_notices()
    assert "RL-0001" in notice["text"] and "unverified sender" in notice["text"]
    [block] = [b for b in notice.blocks if b["type"] == "actions"]
    assert [e["value"] for e in block["elements"]] == ["RL-0001", "RL-0001"]


async def test_a_team_members_verify_verifies_audits_tells_the_sender_and_updates_the_notice(slack):
    reference, notice = await unverified_entry(slack)
    answer = await slack.send.interaction(click(ADMIN, notice, "team_verify"))
    assert answer.status == 200
    await slack.settle()

    assert (await entry(slack))["verified"] is True
    assert (f"slack:{ADMIN}", "verified") in await trail(slack, reference)
    assert "it is confirmed, and it counts" in await told(slack, OUTSIDER)

    [update] = slack.api.calls_to("chat.update")
    assert update["channel"] == TEAM_CHANNEL
    assert not [b for b in update.blocks if b["type"] == "actions"]  # the buttons are gone
    assert f"Verified by <@{ADMIN}>." in update.all_text()
    assert "The sender has been told." in update.all_text()
    assert reference in update.all_text()  # the notice itself is kept


async def test_the_updated_notice_is_the_message_that_was_clicked(slack):
    reference, notice = await unverified_entry(slack)
    payload = click(ADMIN, notice, "team_verify")
    await slack.send.interaction(payload)
    await slack.settle()
    [update] = slack.api.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == (TEAM_CHANNEL, payload["message"]["ts"])


async def test_a_second_click_after_verifying_changes_nothing_and_says_so(slack):
    reference, notice = await unverified_entry(slack)
    await slack.send.interaction(click(ADMIN, notice, "team_verify"))
    await slack.settle()
    first = await told(slack, OUTSIDER)
    url = slack.api.response_url("second")
    await slack.send.interaction(click(ADMIN_2, notice, "team_verify", response_url=url))
    await slack.settle()

    [said] = answers(slack, "second")
    assert said["response_type"] == "ephemeral" and said["replace_original"] is False
    assert f"{reference} is already verified; nothing changed." in said["text"]
    assert len(slack.api.calls_to("chat.update")) == 1
    assert [action for _, action in await trail(slack, reference)].count("verified") == 1
    assert await told(slack, OUTSIDER) == first  # the sender hears once


async def test_a_non_members_click_changes_nothing(slack):
    reference, notice = await unverified_entry(slack)
    url = slack.api.response_url("outsider")
    for action_id in ("team_verify", "team_reject"):
        answer = await slack.send.interaction(click(CAMDEN, notice, action_id, response_url=url))
        assert answer.status == 200
    await slack.settle()

    said = answers(slack, "outsider")
    assert [c["response_type"] for c in said] == ["ephemeral", "ephemeral"]
    assert {c["text"] for c in said} == {
        "Sorry, only the CIB programme team can verify an entry; nothing has changed.",
        "Sorry, only the CIB programme team can reject an entry; nothing has changed.",
    }
    assert (await entry(slack))["verified"] is False and (await entry(slack))["status"] == "active"
    assert [action for _, action in await trail(slack, reference)] == ["created"]
    assert slack.api.count("chat.update") == 0 and slack.api.count("views.open") == 0


async def test_without_a_response_url_the_refusal_is_ephemeral_in_the_channel(slack):
    reference, notice = await unverified_entry(slack)
    await slack.send.interaction(click(HULL, notice, "team_verify"))
    await slack.settle()
    [said] = slack.api.calls_to("chat.postEphemeral")
    assert (said["channel"], said["user"]) == (TEAM_CHANNEL, HULL)
    assert "only the CIB programme team can verify" in said["text"]
    assert (await entry(slack))["verified"] is False


async def test_reject_asks_why_then_rejects_and_tells_the_sender_why(slack):
    reference, notice = await unverified_entry(slack)
    payload = click(ADMIN, notice, "team_reject")
    answer = await slack.send.interaction(payload)
    assert answer.status == 200
    await slack.settle()
    [opened] = slack.api.calls_to("views.open")
    assert opened["trigger_id"] == payload["trigger_id"]
    modal = opened.view
    assert modal["callback_id"] == "team_reject" and reference in modal["title"]["text"]
    [reason] = [b for b in modal["blocks"] if b["type"] == "input"]
    assert reason["block_id"] == "reason" and reason["optional"] is False
    assert (await entry(slack))["status"] == "active"  # nothing yet: the reason first

    submitted = await slack.send.interaction(view_submission(ADMIN, modal, {"reason": "Not sent by the council."}))
    assert submitted.status == 200 and submitted.text == ""  # closes the modal
    await slack.settle()

    assert (await entry(slack))["status"] == "rejected"
    assert (f"slack:{ADMIN}", "rejected") in await trail(slack, reference)
    assert "Not sent by the council." in await told(slack, OUTSIDER)
    [update] = slack.api.calls_to("chat.update")
    assert (update["channel"], update["ts"]) == (TEAM_CHANNEL, payload["message"]["ts"])
    assert not [b for b in update.blocks if b["type"] == "actions"]
    assert f"Rejected by <@{ADMIN}>. The sender has been told.\nReason: Not sent by the council." in update.all_text()


async def test_an_empty_reason_is_refused_in_the_modal(slack):
    reference, notice = await unverified_entry(slack)
    await slack.send.interaction(click(ADMIN, notice, "team_reject"))
    await slack.settle()
    [opened] = slack.api.calls_to("views.open")
    for empty in ("", "   "):
        refused = await slack.send.interaction(view_submission(ADMIN, opened.view, {"reason": empty}))
        assert refused.status == 200
        assert refused.json() == {"response_action": "errors",
                                  "errors": {"reason": "Say why: the sender is told the reason."}}
    await slack.settle()
    assert (await entry(slack))["status"] == "active"
    assert [action for _, action in await trail(slack, reference)] == ["created"]
    assert slack.api.count("chat.update") == 0


async def test_a_reason_that_would_ping_is_shown_as_typed(slack):
    reference, notice = await unverified_entry(slack)
    await slack.send.interaction(click(ADMIN, notice, "team_reject"))
    await slack.settle()
    [opened] = slack.api.calls_to("views.open")
    await slack.send.interaction(view_submission(ADMIN, opened.view, {"reason": "<!channel> not <@U0HULL001>"}))
    await slack.settle()
    [update] = slack.api.calls_to("chat.update")
    assert "&lt;!channel&gt; not &lt;@U0HULL001&gt;" in update.all_text()


# --- /cib verify|reject|decide|audit ------------------------------------------------------------


async def test_verify_decide_and_audit_by_command(slack):
    reference, _ = await unverified_entry(slack)

    url = slack.api.response_url("verify")
    ack = await slack.send.command(command_form(ADMIN, f"verify {reference.lower()}", response_url=url))
    assert ack.status == 200 and ack.text == ""  # the answer follows by the response_url
    await slack.settle()
    [said] = answers(slack, "verify")
    assert said["response_type"] == "ephemeral"
    assert said["text"] == f"{reference} is verified. The sender has been told."
    assert (await entry(slack))["verified"] is True

    url = slack.api.response_url("decide")
    await slack.send.command(command_form(ADMIN, f"decide {reference} accept Welcome aboard.", response_url=url))
    await slack.settle()
    [said] = answers(slack, "decide")
    assert said["text"] == f"{reference} is accepted (place 1 of 30). The sender has been told."
    decided = await entry(slack)
    assert decided["decision"] == "accepted"
    sender_heard = await told(slack, OUTSIDER)
    assert "it is confirmed, and it counts" in sender_heard
    assert "is accepted" in sender_heard and "Welcome aboard." in sender_heard

    url = slack.api.response_url("audit")
    await slack.send.command(command_form(ADMIN, f"audit {reference}", response_url=url))
    await slack.settle()
    [said] = answers(slack, "audit")
    text = "\n".join(b["text"]["text"] for b in said["blocks"])
    assert f"Audit trail of {reference}" in text
    lines = text.splitlines()[1:]
    assert [line.split(" · ")[2] for line in lines] == ["*created*", "*verified*", "*decided*"]
    assert lines[0].split(" · ")[1] == "someone@example.com"
    assert all(line.split(" · ")[1] == f"<@{ADMIN}>" for line in lines[1:])
    assert "decision: accepted" in lines[2] and "note: Welcome aboard." in lines[2]


async def test_reject_by_command_needs_a_reason(slack):
    reference, _ = await unverified_entry(slack)
    hint = await slack.send.command(command_form(ADMIN, f"reject {reference}"))
    assert "Which one, and why?" in hint.json()["text"]
    url = slack.api.response_url("reject")
    await slack.send.command(command_form(ADMIN, f"reject {reference} A duplicate of PBR-0002.", response_url=url))
    await slack.settle()
    [said] = answers(slack, "reject")
    assert said["text"] == f"{reference} is rejected. The sender has been told."
    assert (await entry(slack))["status"] == "rejected"
    assert "A duplicate of PBR-0002." in await told(slack, OUTSIDER)


async def test_what_the_desk_refuses_is_said(slack):
    reference, _ = await unverified_entry(slack)
    url = slack.api.response_url("refused")
    await slack.send.command(command_form(ADMIN, f"decide {reference} accept", response_url=url))
    await slack.send.command(command_form(ADMIN, "verify PBR-0999", response_url=url))
    await slack.settle()
    assert {c["text"] for c in answers(slack, "refused")} == {
        f"{reference} is unverified: verify it (or reject it) first.",
        "No entry has the reference PBR-0999.",
    }
    assert (await entry(slack))["decision"] == ""


async def test_usage_hints_come_in_the_ack(slack):
    for text, hint in (("verify", "`/cib verify PBR-0007`"), ("audit nothing", "`/cib audit PBR-0007`"),
                       ("decide PBR-0001 maybe", "accept|decline|waitlist")):
        ack = await slack.send.command(command_form(ADMIN, text))
        assert hint in ack.json()["text"]
    await slack.settle()
    assert slack.api.count("response_url") == 0


async def test_the_teams_commands_are_refused_to_others(slack):
    reference, _ = await unverified_entry(slack)
    url = slack.api.response_url("outsider")
    for text in (f"verify {reference}", f"decide {reference} accept", f"audit {reference}",
                 f"reject {reference} spam"):
        ack = await slack.send.command(command_form(CAMDEN, text, response_url=url))
        verb = text.split()[0]
        assert ack.json()["text"] == f"/cib {verb} is for the CIB programme team only."
    await slack.settle()
    assert answers(slack, "outsider") == []
    submission = await entry(slack)
    assert submission["verified"] is False and submission["status"] == "active" and submission["decision"] == ""
    assert [action for _, action in await trail(slack, reference)] == ["created"]


async def test_a_team_member_listed_by_email_may_act(settings_factory, clock):
    api = await make_api().start()
    runtime = create_service(slack_settings(settings_factory, api, admin_slack_users=["amy.team@local.gov.uk"]),
                             clock=clock)
    await runtime.start(smtp=False, slack=True, scheduler=False)
    try:
        async with SlackSender(runtime.slack.url) as send:
            world = SlackWorld(runtime, api, send)
            reference, notice = await unverified_entry(world)
            await send.interaction(click(CAMDEN, notice, "team_verify"))  # looked up: not a member
            await world.settle()
            assert (await entry(world))["verified"] is False
            url = api.response_url("by-email")
            ack = await send.command(command_form(ADMIN, f"verify {reference}", response_url=url))
            assert ack.status == 200 and ack.text == ""
            await world.settle()
            assert (await entry(world))["verified"] is True
            assert [c["text"] for c in answers(world, "by-email")] == [
                f"{reference} is verified. The sender has been told."
            ]
    finally:
        await runtime.stop()
        await api.stop()


async def test_help_lists_the_teams_commands_for_the_team_only(slack):
    await slack.send.command(command_form(ADMIN, "help"))
    await slack.send.command(command_form(CAMDEN, "help"))
    await slack.settle()
    [for_team] = slack.dm(ADMIN)
    [for_council] = slack.dm(CAMDEN)
    assert "/cib verify <reference>" in for_team.all_text() and "/cib audit <reference>" in for_team.all_text()
    assert "/cib verify" not in for_council.all_text() and "/cib eoi" in for_council.all_text()
