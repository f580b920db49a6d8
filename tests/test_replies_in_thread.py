"""A reply to one of our messages is about the entry our message named, as councils reply
(Reply in Outlook: our text quoted below, the reference nowhere in what they wrote): a
correction amends that entry, a withdrawal in words withdraws it, a question is tied to
it, and none becomes a second expression of interest for the same offer. Over SMTP."""
from __future__ import annotations

import textwrap
from email.message import EmailMessage

import pytest

from tests.mailer import body_text, message, send, settle
from tests.team_browser import TeamBrowser

SENDER = "jane.smith@camden.gov.uk"
PBR = """
    Offer: PbR pathfinder
    Council: London Borough of Camden
    Contact name: Jane Smith
    Contact role: Head of Early Help
    Number of children's centres: 12
"""


def reply_to(ours: EmailMessage, text: str, *, subject: str | None = None, sender: str = SENDER) -> bytes:
    """What Outlook sends when the sender presses Reply: the thread kept, our text quoted."""
    quoted = "\n".join(f"> {line}" for line in body_text(ours).splitlines())
    body = f"{textwrap.dedent(text).strip()}\n\nKind regards\nJane\n\nFrom: CIB\nSent: Monday\n{quoted}\n"
    return message(body, sender=sender, subject=subject or f"RE: {ours['Subject']}",
                   headers={"In-Reply-To": ours["Message-ID"], "References": ours["Message-ID"]})


async def _acknowledged(runtime, relay) -> EmailMessage:
    await send(runtime, message(PBR, subject="Expression of interest"))
    await settle(runtime)
    [ack] = relay.to(SENDER)
    assert "PBR-0001" in body_text(ack) and "PBR-0001" not in ack["Subject"]  # the reference only in the text
    return ack


async def _entries(runtime) -> list[dict]:
    return (await runtime.service.export())["submissions"]


async def test_a_correction_sent_by_reply_amends_the_entry(runtime, relay):
    ack = await _acknowledged(runtime, relay)
    await send(runtime, reply_to(ack, "Sorry, I gave the wrong number.\nNumber of children's centres: 14"))
    await settle(runtime)
    [entry] = await _entries(runtime)
    assert entry["reference"] == "PBR-0001" and str(entry["fields"]["centres"]) == "14"
    assert "PBR-0001" in body_text(relay.to(SENDER)[-1])
    assert len(relay.to(SENDER)) == 2


async def test_a_change_of_contact_by_reply_amends_and_makes_no_second_entry(runtime, relay):
    ack = await _acknowledged(runtime, relay)
    await send(runtime, reply_to(ack, "Please note the contact should be my colleague.\nContact name: Sam Khan"))
    await settle(runtime)
    entries = await _entries(runtime)
    assert [e["reference"] for e in entries] == ["PBR-0001"]  # never a second PbR entry
    assert entries[0]["contact_name"] == "Sam Khan"


@pytest.mark.parametrize("words", [
    "We have decided not to go ahead with this and would like to be taken off the list.",
    "Following a discussion with our DCS we will not be proceeding with the pathfinder.",
    "Unfortunately we are no longer able to take part this year, please remove us.",
    "Please disregard our expression of interest - our plans have changed.",
    "Regretfully we need to pull out.",
    "Could you take us off the list for this one please?",
    "We've decided against applying after all, sorry for the trouble.",
    "Please could you withdraw our submission.",
    "We would like to opt out.",
])
async def test_a_withdrawal_in_words_by_reply_withdraws_the_entry(runtime, relay, words):
    ack = await _acknowledged(runtime, relay)
    await send(runtime, reply_to(ack, words))
    await settle(runtime)
    [entry] = await _entries(runtime)
    assert entry["status"] == "withdrawn", words
    assert "PBR-0001 (Payment by Results pathfinder" in body_text(relay.to(SENDER)[-1])
    assert "is withdrawn" in body_text(relay.to(SENDER)[-1])


@pytest.mark.parametrize("words", [
    "Thanks - we had to cancel the meeting on Friday, can we rearrange?",
    "Great, thank you. We are going ahead with the restructure regardless.",
    "Please remove the typo in my name when you next write: it is Jane, not Jayne.",
])
async def test_words_that_only_sound_like_a_withdrawal_leave_the_entry_active(runtime, relay, words):
    ack = await _acknowledged(runtime, relay)
    await send(runtime, reply_to(ack, words))
    await settle(runtime)
    [entry] = await _entries(runtime)
    assert entry["status"] == "active", words


async def test_a_question_by_reply_goes_to_the_team_tied_to_the_entry(runtime, relay):
    ack = await _acknowledged(runtime, relay)
    await send(runtime, reply_to(ack, "Thank you. Could someone tell us when we will hear about places?"))
    await settle(runtime)
    [enquiry] = (await runtime.service.export())["enquiries"]
    assert enquiry["text"].startswith("Thank you. Could someone tell us when")
    async with runtime.store.reader() as unit:
        [question] = [r for i in await unit.inbound.ids() if (r := await unit.inbound.get(i)).classification == "enquiry"]
    assert question.meta["about"] == ["PBR-0001"]
    assert [e["status"] for e in await _entries(runtime)] == ["active"]
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get("/team/needs")
    [shown] = page.soup.select("#enquiries article")
    assert "Could someone tell us when" in shown.text
    [link] = shown.select('a[href="/team/entries/PBR-0001"]')
    assert link.text == "PBR-0001" and "About PBR-0001" in " ".join(shown.text.split())


async def test_another_offer_sent_by_reply_is_a_new_entry(runtime, relay):
    ack = await _acknowledged(runtime, relay)
    await send(runtime, reply_to(ack, """
        We would also like to be considered for the early adopter offer.
        Offer: Early adopter
        Council: London Borough of Camden
        Contact name: Jane Smith
        Contact role: Head of Early Help
        Areas for peer challenge: Early help and the front door
    """))
    await settle(runtime)
    entries = await _entries(runtime)
    assert sorted(e["offer"] for e in entries) == ["early-adopter", "pbr-pathfinder"]
    assert all(e["status"] == "active" for e in entries)


async def test_a_forged_correction_by_reply_changes_nothing(runtime, relay):
    ack = await _acknowledged(runtime, relay)
    forged = reply_to(ack, "Contact name: Mallory\nContact email: mallory@evil.example")
    await send(runtime, forged, authenticated=False)
    await settle(runtime)
    [entry] = await _entries(runtime)
    assert entry["contact_name"] == "Jane Smith"


async def test_a_correction_in_reply_to_a_decision_amends_the_entry(runtime, relay):
    ack = await _acknowledged(runtime, relay)
    assert ack is not None
    done = await runtime.team.decide("PBR-0001", "waitlist", actor="team@cib.test", note="")
    assert done.ok
    await runtime.deliver_now()
    decision = relay.to(SENDER)[-1]
    assert "PBR-0001" in decision["Subject"] or "PBR-0001" in body_text(decision)
    await send(runtime, reply_to(decision, "Thanks. Our contact role has changed.\nContact role: Director of Early Help"))
    await settle(runtime)
    [entry] = await _entries(runtime)
    assert entry["fields"]["contact_role"] == "Director of Early Help"
