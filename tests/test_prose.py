"""Letters without label lines: the offer named in a sentence, numbers with their nouns,
the council named, the writer's name and role from the signature or the From name; and
what was read this way is said in the reply."""
from __future__ import annotations


import pytest

from intake.campaign.definition import load_campaign
from intake.campaign.register import load_councils
from intake.parsing import parse_message
from intake.parsing.prose import signature
from intake.runtime.settings import DEFAULT_CONFIG_DIR
from tests.mailer import body_text, message, send, settle

CAMPAIGN = load_campaign(DEFAULT_CONFIG_DIR / "campaign.toml")
COUNCILS = load_councils(DEFAULT_CONFIG_DIR / "councils.csv")

SALFORD = """Dear CIB team,

Salford would very much like to be considered as a Payment by Results pathfinder. We currently run 16 children's centres across the city.

Kind regards,

Sam Patel
Head of Early Help
Salford City Council
"""


def test_a_letter_is_read_as_an_expression_of_interest():
    parsed = parse_message("Pathfinder", SALFORD, campaign=CAMPAIGN, councils=COUNCILS)
    [draft] = parsed.submissions
    assert parsed.kind == "submission" and draft.offer == "pbr-pathfinder"
    assert draft.values == {"council": COUNCILS.resolve("Salford").council.code, "contact_name": "Sam Patel",
                            "contact_role": "Head of Early Help", "centres": 16}
    assert draft.inferred == {"council": "your message", "contact_name": "your signature",
                              "contact_role": "your signature", "centres": "your message"}


@pytest.mark.parametrize("text, number", [
    ("We run sixteen children's centres.", 16),
    ("The council operates 9 Sure Start children's centres", 9),
    ("we have 12 centres across the borough", 12),
])
def test_numbers_are_read_with_their_nouns(text, number):
    parsed = parse_message("PbR pathfinder", f"We would like to apply for the PbR pathfinder. {text}",
                           campaign=CAMPAIGN, councils=COUNCILS)
    assert parsed.submissions[0].values.get("centres") == number


@pytest.mark.parametrize("body, name, role", [
    ("Thanks\nJo Bloggs\nService Manager, Early Help", "Jo Bloggs", "Service Manager, Early Help"),
    ("Kind regards,\n\nDr Amira Khan\nDirector of Children's Services", "Dr Amira Khan", "Director of Children's Services"),
    ("Best wishes\nJo Bloggs\n0161 555 0100", "Jo Bloggs", None),
    ("Regards\nthe early help team", None, None),
    ("No sign-off here\nJo Bloggs", None, None),
])
def test_signatures(body, name, role):
    found = signature(body)
    assert (found.name, found.role) == (name, role)


def test_the_from_name_stands_in_for_a_missing_signature():
    parsed = parse_message("EOI", "We'd love to be one of the PbR pathfinders.", campaign=CAMPAIGN,
                           councils=COUNCILS, sender_name="Patel, Sam")
    assert parsed.submissions[0].values["contact_name"] == "Sam Patel"
    assert parsed.submissions[0].inferred["contact_name"] == "the name your email was sent under"
    team = parse_message("EOI", "We'd love to be one of the PbR pathfinders.", campaign=CAMPAIGN,
                         councils=COUNCILS, sender_name="Early Help Team")
    assert "contact_name" not in team.submissions[0].values


def test_help_please_is_still_a_question():
    assert parse_message("help please", "help please", campaign=CAMPAIGN, councils=COUNCILS).kind == "enquiry"


def test_a_verb_is_not_a_council():
    assert COUNCILS.mentioned("Thank you for reading this; we will bury the hatchet.") == []


async def test_a_letter_over_smtp_is_recorded_and_the_reply_says_what_was_inferred(runtime, relay):
    await send(runtime, message(SALFORD, sender="Sam Patel <sam.patel@salford.gov.uk>", subject="Pathfinder"),
               mail_from="sam.patel@salford.gov.uk")
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["council"] == "Salford City Council" and submission["fields"]["centres"] == 16
    assert submission["contact_name"] == "Sam Patel" and submission["verified"] is True
    reply = body_text(relay.to("sam.patel@salford.gov.uk")[-1])
    assert "contact role (\"Head of Early Help\") from your signature" in reply
    assert "number of children's centres (\"16\") from your message" in reply
    assert "If any of it is wrong, reply with the right line" in reply


async def test_a_council_named_in_passing_does_not_outweigh_the_senders_domain(runtime, relay):
    body = ("Wigan would like to be considered for the PbR pathfinder, like our neighbours in Bury. "
            "We run 7 children's centres.\n\nKind regards,\nAlex Morgan\nHead of Service")
    await send(runtime, message(body, sender="alex@wigan.gov.uk", subject="Pathfinder"))
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["council"] == "Wigan Metropolitan Borough Council"


@pytest.mark.parametrize("body, where", [
    ("Council: Cardiff Council\nContact name: Rhys Jones\nContact role: Head of Early Years\n"
     "Number of children's centres: 8", "Cardiff Council is in Wales"),
    ("Offer: PbR pathfinder\nCouncil: Newport City Council\nContact name: Ann Lee", "Newport City Council is in Wales"),
    ("Glasgow City Council would like to be considered as a PbR pathfinder. We run 20 children's centres.",
     "Glasgow City Council is in Scotland"),
    ("Council: Belfast\nOffer: Early adopter\nAreas for peer challenge: early help", "Belfast City Council is in Northern Ireland"),
])
def test_a_council_outside_england_is_told_the_programme_is_for_england(body, where):
    parsed = parse_message("Expression of interest", body, campaign=CAMPAIGN, councils=COUNCILS)
    assert parsed.kind == "enquiry" and parsed.elsewhere == where


def test_english_councils_with_welsh_sounding_neighbours_are_still_english():
    parsed = parse_message("PbR pathfinder", "Council: Shropshire\nContact name: Jo Bloggs\nContact role: Head\n"
                           "Number of children's centres: 4", campaign=CAMPAIGN, councils=COUNCILS)
    assert parsed.kind == "submission" and not parsed.elsewhere


async def test_a_welsh_council_over_smtp_is_answered_and_kept_for_the_team(runtime, relay):
    await send(runtime, message("Council: Cardiff Council\nContact name: Rhys Jones\nContact role: Head of Early Years\n"
                                "Number of children's centres: 8", sender="rhys.jones@cardiff.gov.uk",
                                subject="PbR pathfinder EOI"))
    await settle(runtime)
    data = await runtime.service.export()
    assert data["submissions"] == [] and len(data["enquiries"]) == 1
    reply = body_text(relay.to("rhys.jones@cardiff.gov.uk")[-1])
    assert "offers are for England's councils. Cardiff Council is in Wales, so we cannot record" in reply
    assert "full name" not in reply
