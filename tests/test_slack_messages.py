"""Direct messages and @mentions: submissions in `Label: value` form, questions and free
text go through the same service as email; answers land in the same thread; edits,
deletions and bots are handled on purpose; nothing a user wrote can ping a channel."""
from __future__ import annotations

import json

from slack_support.harness import (  # noqa: F401
    CAMDEN,
    CAMDEN_2,
    HULL,
    NO_EMAIL,
    OTHER_BOT,
    slack,
)
from slack_support.signing import dm_event, event_envelope, mention_event, new_ts
from slack_support.webapi import BOT_ID, BOT_USER_ID

PBR = (
    "Offer: PbR pathfinder\n"
    "Council: Camden\n"
    "Contact name: Jo Bloggs\n"
    "Contact role: Head of early help\n"
    "Number of children's centres: 12"
)


async def test_dm_submission_is_recorded_and_acknowledged_in_its_thread(slack):
    event = dm_event(CAMDEN, PBR)
    answer = await slack.send.event(event_envelope(event))
    assert answer.status == 200
    await slack.settle()

    [reply] = slack.dm(CAMDEN)
    assert reply["thread_ts"] == event["ts"]
    text = reply.all_text()
    assert "PBR-0001" in reply["text"]
    assert "London Borough of Camden" in text
    assert "Number of children's centres: 12" in text
    # The council was confirmed from the Slack profile email.
    assert "jo.bloggs@camden.gov.uk" in text

    export = await slack.runtime.service.export()
    [submission] = export["submissions"]
    assert submission["reference"] == "PBR-0001"
    assert submission["council_code"] == "E09000007"
    assert submission["channel"] == "slack"
    assert submission["verified"] is True
    assert submission["contact_email"] == "jo.bloggs@camden.gov.uk"  # from the profile

    [notice] = slack.team_notices()
    assert "PBR-0001" in notice["text"] and "Camden" in notice["text"]
    assert f"<@{CAMDEN}>" in notice.all_text()


async def test_slack_links_in_a_message_are_read_as_typed(slack):
    # Slack sends an email address as a mailto link and "&" as "&amp;".
    text = (
        "Offer: Children's centres support\nCouncil: Camden\nContact name: Jo Bloggs\n"
        "Contact email: <mailto:early.help@camden.gov.uk|early.help@camden.gov.uk>\n"
        "Contact role: Head of early help\nSupport needed: sufficiency &amp; outreach"
    )
    await slack.send.event(event_envelope(dm_event(CAMDEN, text)))
    await slack.settle()
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["contact_email"] == "early.help@camden.gov.uk"
    assert submission["fields"]["support_needed"] == "sufficiency & outreach"
    [reply] = slack.dm(CAMDEN)
    assert "sufficiency &amp; outreach" in reply.all_text()  # escaped again on the way out


async def test_incomplete_submission_lists_what_is_missing_with_a_form_button(slack):
    await slack.send.event(event_envelope(dm_event(CAMDEN, "Offer: PbR pathfinder\nContact name: Jo Bloggs")))
    await slack.settle()
    [reply] = slack.dm(CAMDEN)
    text = reply.all_text()
    assert "Enter the contact role" in text
    assert "Enter the number of children's centres" in text
    buttons = [e for b in reply.blocks if b["type"] == "actions" for e in b["elements"]]
    assert {"action_id": "open_form", "value": "pbr-pathfinder"}.items() <= buttons[0].items()
    assert (await slack.runtime.service.export())["submissions"] == []
    assert slack.team_notices() == []


async def test_question_in_dm_answered_in_thread(slack):
    event = dm_event(CAMDEN, "when is the PbR deadline?")
    await slack.send.event(event_envelope(event))
    await slack.settle()
    [reply] = slack.dm(CAMDEN)
    assert reply["thread_ts"] == event["ts"]
    assert "Thursday 27 May 2027, 5pm" in reply.all_text()
    assert "Payment by Results" in reply.all_text()


async def test_reply_inside_a_thread_stays_in_that_thread(slack):
    parent = new_ts()
    event = dm_event(CAMDEN, "what deadlines are coming up?", thread_ts=parent)
    await slack.send.event(event_envelope(event))
    await slack.settle()
    [reply] = slack.dm(CAMDEN)
    assert reply["thread_ts"] == parent


async def test_what_have_we_sent_lists_the_councils_references(slack):
    await slack.send.event(event_envelope(dm_event(CAMDEN, PBR)))
    await slack.settle()
    slack.api.reset()
    # A colleague at the same council asks.
    await slack.send.event(event_envelope(dm_event(CAMDEN_2, "what have we sent?")))
    await slack.settle()
    [reply] = slack.dm(CAMDEN_2)
    text = reply.all_text()
    assert "PBR-0001" in text
    assert "London Borough of Camden" in text
    assert "Early adopter" in text  # not yet received


async def test_mention_in_a_channel_is_answered_in_a_thread_there(slack):
    event = mention_event(HULL, f"<@{BOT_USER_ID}> who are the London leads?", channel="C0GENERAL")
    await slack.send.event(event_envelope(event))
    await slack.settle()
    [reply] = slack.posts("C0GENERAL")
    assert reply["thread_ts"] == event["ts"]
    text = reply.all_text()
    assert "London" in text and "Lead member" in text


async def test_a_mention_asking_what_we_hold_is_answered_privately(slack):
    await slack.send.event(event_envelope(dm_event(CAMDEN, PBR)))
    await slack.settle()
    slack.api.reset()
    event = mention_event(CAMDEN_2, f"<@{BOT_USER_ID}> what have we sent?", channel="C0GENERAL")
    await slack.send.event(event_envelope(event))
    await slack.settle()
    # The channel hears only where the answer went; the details go by direct message.
    [note] = slack.posts("C0GENERAL")
    assert note["thread_ts"] == event["ts"]
    public = note.all_text()
    assert f"<@{CAMDEN_2}>" in public and "direct message" in public
    assert "PBR-0001" not in public and "@camden.gov.uk" not in public and "Camden" not in public
    [answer] = slack.dm(CAMDEN_2)
    assert "PBR-0001" in answer.all_text() and "London Borough of Camden" in answer.all_text()


async def test_a_mention_in_a_dm_is_answered_once(slack):
    # Slack can send both a message.im and an app_mention for "@CIB ..." in a DM.
    ts = new_ts()
    text = f"<@{BOT_USER_ID}> what deadlines are coming up?"
    await slack.send.event(event_envelope(dm_event(CAMDEN, text, ts=ts)))
    await slack.send.event(event_envelope(mention_event(CAMDEN, text, channel="D0CAMDEN1", ts=ts)))
    await slack.settle()
    assert len(slack.dm(CAMDEN)) == 1


async def test_free_text_is_an_enquiry_for_the_team(slack):
    await slack.send.event(event_envelope(dm_event(HULL, "Could someone call me about the peer challenge timetable?")))
    await slack.settle()
    [reply] = slack.dm(HULL)
    assert "CIB programme team" in reply.all_text()
    [notice] = slack.team_notices()
    assert "pat.doe@hull.gov.uk" in notice["text"]
    enquiries = (await slack.runtime.service.export())["enquiries"]
    assert [e["channel"] for e in enquiries] == ["slack"]


async def test_bot_and_own_messages_are_ignored(slack):
    own = dm_event(BOT_USER_ID, "Recorded: PBR-0001", bot_id=BOT_ID)
    other_bot = dm_event(OTHER_BOT, "Council: Camden", subtype="bot_message", bot_id="B0OTHER")
    other_bot_plain = dm_event(OTHER_BOT, "what have we sent?", bot_id="B0OTHER",
                               bot_profile={"id": "B0OTHER", "name": "other"})
    for event in (own, other_bot, other_bot_plain):
        assert (await slack.send.event(event_envelope(event))).status == 200
    await slack.settle()
    assert slack.api.count("chat.postMessage") == 0
    assert slack.api.count("users.info") == 0


async def test_channel_messages_without_a_mention_are_not_ours(slack):
    event = dm_event(CAMDEN, "what deadlines are coming up?", channel="C0GENERAL", channel_type="channel")
    await slack.send.event(event_envelope(event))
    await slack.settle()
    assert slack.api.count("chat.postMessage") == 0


async def test_edit_gets_one_note_and_changes_nothing(slack):
    original = dm_event(CAMDEN, PBR)
    await slack.send.event(event_envelope(original))
    await slack.settle()
    slack.api.reset()
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": original["channel"],
        "channel_type": "im",
        "ts": new_ts(),
        "event_ts": new_ts(),
        "message": {**original, "text": PBR.replace("12", "14"), "edited": {"user": CAMDEN, "ts": new_ts()}},
        "previous_message": original,
    }
    envelope = event_envelope(edited)
    await slack.send.event(envelope)
    await slack.send.event(envelope, retry_num=1)
    await slack.settle()
    [note] = slack.dm(CAMDEN)
    assert note["thread_ts"] == original["ts"]
    assert "not applied" in note.all_text()
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["fields"]["centres"] == 12


async def test_unfurl_or_reply_count_changes_are_not_edits(slack):
    original = dm_event(CAMDEN, "see https://example.org")
    changed = {
        "type": "message", "subtype": "message_changed", "channel": original["channel"], "channel_type": "im",
        "ts": new_ts(), "message": {**original, "attachments": [{"title": "Example"}]},
        "previous_message": original,
    }
    await slack.send.event(event_envelope(changed))
    await slack.settle()
    assert slack.api.count("chat.postMessage") == 0


async def test_deleted_messages_are_ignored(slack):
    deleted = {
        "type": "message", "subtype": "message_deleted", "hidden": True, "channel": "D0CAMDEN1",
        "channel_type": "im", "ts": new_ts(), "deleted_ts": new_ts(),
        "previous_message": dm_event(CAMDEN, PBR),
    }
    assert (await slack.send.event(event_envelope(deleted))).status == 200
    await slack.settle()
    assert slack.api.calls_to("chat.postMessage") == []


async def test_nothing_a_user_writes_can_ping_or_link(slack):
    hostile = (
        "Offer: PbR pathfinder\nCouncil: Camden\n"
        "Contact name: <!channel> Jo <@U0HULL001> <https://evil.example|click me> & co\n"
        "Contact role: <!here> <!everyone> <!subteam^S123>\n"
        "Number of children's centres: 3"
    )
    await slack.send.event(event_envelope(dm_event(CAMDEN, hostile)))
    await slack.settle()
    posts = slack.api.calls_to("chat.postMessage")
    assert posts, "expected a reply and a team notice"
    for post in posts:
        raw = json.dumps({"text": post["text"], "blocks": post.blocks})
        for dangerous in ("<!channel>", "<!here>", "<!everyone>", "<!subteam", "<@U0HULL001>", "<https://"):
            assert dangerous not in raw, (dangerous, raw)
    reply = slack.dm(CAMDEN)[0].all_text()
    # What Slack sent us was read as typed ("@channel Jo @U0HULL001 click me & co") and
    # every &, < and > escaped on the way back.
    assert "@\u2060channel Jo @U0HULL001 click me &amp; co" in reply
    assert "@\u2060here" in reply
    for post in posts:
        assert post.get("unfurl_links") is False
        for block in post.blocks:
            for node in [block.get("text") or {}] + list(block.get("elements") or []):
                if node.get("type") == "mrkdwn":
                    assert node["verbatim"] is True


async def test_sender_without_email_is_told_we_cannot_tell_the_council(slack):
    await slack.send.event(event_envelope(dm_event(NO_EMAIL, "what have we sent?")))
    await slack.settle()
    [reply] = slack.dm(NO_EMAIL)
    assert "could not tell which council" in reply.all_text()


async def test_empty_mention_gets_help(slack):
    event = mention_event(CAMDEN, f"<@{BOT_USER_ID}>", channel="C0GENERAL")
    await slack.send.event(event_envelope(event))
    await slack.settle()
    [reply] = slack.posts("C0GENERAL")
    assert "/cib eoi" in reply.all_text()


async def test_asking_for_a_form_gets_the_lines_and_a_button(slack):
    await slack.send.event(event_envelope(dm_event(CAMDEN, "send me the form for the PbR pathfinder")))
    await slack.settle()
    [reply] = slack.dm(CAMDEN)
    text = reply.all_text()
    assert "Number of children's centres:" in text
    assert "Council: London Borough of Camden" in text  # pre-filled from the profile email
    buttons = [e for b in reply.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == ["pbr-pathfinder"]


async def test_amending_by_reference_from_the_same_council(slack):
    await slack.send.event(event_envelope(dm_event(CAMDEN, PBR)))
    await slack.settle()
    slack.api.reset()
    await slack.send.event(event_envelope(dm_event(CAMDEN_2, "Amend PBR-0001\nNumber of children's centres: 15")))
    await slack.settle()
    [reply] = slack.dm(CAMDEN_2)
    assert "updated *PBR-0001*" in reply.all_text()
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["fields"]["centres"] == 15


async def test_amending_another_councils_submission_is_held_for_its_contact(slack):
    await slack.send.event(event_envelope(dm_event(CAMDEN, PBR)))
    await slack.settle()
    slack.api.reset()
    await slack.send.event(event_envelope(dm_event(HULL, "Amend PBR-0001\nNumber of children's centres: 1")))
    await slack.settle()
    [reply] = slack.dm(HULL)
    assert "needs confirming" in reply.all_text() and "PBR-0001" in reply.all_text()
    [submission] = (await slack.runtime.service.export())["submissions"]
    assert submission["fields"]["centres"] == 12


async def test_nomination_by_message_notifies_the_team(slack):
    text = (
        "Regional leads nomination\nRegion: Yorkshire and the Humber\n"
        "Lead DCS: Dana Smith, Hull City Council, dana.smith@hull.gov.uk"
    )
    await slack.send.event(event_envelope(dm_event(HULL, text)))
    await slack.settle()
    [reply] = slack.dm(HULL)
    assert "RL-0001" in reply.all_text() and "Dana Smith" in reply.all_text()
    [notice] = slack.team_notices()
    assert "RL-0001" in notice["text"] and "Yorkshire and The Humber" in notice["text"]


class _FailingProcess:
    """The core keeps the message, then fails to process it (it will be replayed)."""

    def __init__(self, service):
        self._service = service

    def __getattr__(self, name):
        return getattr(self._service, name)

    async def process(self, inbound_id):
        from intake.messages import Outcome

        return Outcome(inbound_id, "failed")


async def test_kept_but_not_processed_says_no_need_to_resend(slack):
    slack.runner.bot.service = _FailingProcess(slack.runtime.service)
    await slack.send.event(event_envelope(dm_event(CAMDEN, PBR)))
    await slack.settle()
    [reply] = slack.dm(CAMDEN)
    assert "kept your message" in reply.all_text()
    assert "no need to send it again" in reply.all_text()

