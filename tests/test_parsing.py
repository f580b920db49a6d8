"""intake.parsing on plain strings: labels, values, councils, offers, nominations,
references, queries and enquiries, against the shipped campaign and council register."""
from __future__ import annotations


import pytest

from intake.runtime.settings import DEFAULT_CONFIG_DIR
from intake.campaign.definition import Campaign, load_campaign
from intake.campaign.register import CouncilRegister, load_councils
from intake.parsing.attached_documents import document_heading
from intake.parsing import (
    FieldError,
    Parsed,
    Query,
    apply_defaults,
    find_references,
    missing_required,
    offers_in,
    parse_form,
    parse_message,
    parse_nomination_form,
)

CAMDEN = "E09000007"
HERTS = "E10000015"
RBKC = "E09000020"
BURY = "E08000002"
HULL = "E06000010"
KINGSTON_THAMES = "E09000021"


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign(DEFAULT_CONFIG_DIR / "campaign.toml")


@pytest.fixture(scope="module")
def councils() -> CouncilRegister:
    return load_councils(DEFAULT_CONFIG_DIR / "councils.csv")


@pytest.fixture
def parse(campaign, councils):
    def run(body: str, subject: str = "") -> Parsed:
        return parse_message(subject, body, campaign=campaign, councils=councils)

    return run


def one(result: Parsed):
    assert result.kind == "submission", result
    [draft] = result.submissions
    return draft


# --- labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Council: Camden",
        "COUNCIL: Camden",
        "council - Camden",
        "Council name – Camden",
        "* Council: Camden",
        "• Council: Camden",
        "- Council: Camden",
        "1. Council: Camden",
        "a) Council: Camden",
        "*Council:* Camden",
        "**Council**: Camden",
        "Council:Camden",
        "Council\tCamden",
        "Local authority: Camden",
        "LA: Camden",
        "Name of council: Camden",
        "Your council name: Camden",
        "Council:\nCamden",
        "Council\n\nCamden",
        "Council -\nCamden",
    ],
)
def test_council_label_forms(parse, line):
    draft = one(parse(f"{line}\nNumber of centres: 3", subject="EOI PbR"))
    assert draft.values["council"] == CAMDEN


@pytest.mark.parametrize(
    "line",
    [
        "Number of children's centres: 12",
        "Number of children’s centres: 12",
        "• Number of children's centres: 12",
        "NUMBER OF CHILDRENS CENTRES - 12",
        "No. of children's centres: 12",
        "Centres: 12",
        "Number of centres: 12 centres",
        "Number of children's centres in the borough: 12",
        "Children's centres: twelve",
        "Number of children's centres:\n\n12",
    ],
)
def test_integer_field_forms(parse, line):
    draft = one(parse(f"Council: Camden\n{line}", subject="PbR pathfinder EOI"))
    assert draft.offer == "pbr-pathfinder"
    assert draft.values["centres"] == 12
    assert draft.errors == []


def test_longest_label_wins(parse):
    # "contact email" (not "contact" = contact name); "number of centres" (not "centres").
    draft = one(parse("Contact email: a@camden.gov.uk\nContact: Ann\nNumber of centres: 4", subject="EOI: PbR"))
    assert draft.values == {"contact_email": "a@camden.gov.uk", "contact_name": "Ann", "centres": 4}


def test_unknown_labels_and_prose_are_ignored(parse):
    draft = one(parse(
        "Please note: we discussed this at cabinet.\nTelephone: 0207 000 0000\n"
        "We think the council would benefit.\nCouncil: Camden\n",
        subject="EOI: PbR",
    ))
    assert draft.values == {"council": CAMDEN}


def test_an_attached_forms_wording_that_names_every_offer_chooses_none(parse):
    result = parse(
        "Please find our form attached.\n\n" + document_heading("EOI.docx") + "\nExpression of interest\n"
        "This form is for the PbR pathfinder, the Early adopter programme and Children's centres support: "
        "tick the one you are applying for.\n\nCouncil: Camden\nContact name: Jane Smith\n",
    )
    [draft] = result.submissions
    assert draft.offer == "" and [e.field for e in draft.errors] == ["offer"]


def test_a_label_alone_still_takes_the_offer_named_below_it(parse):
    draft = one(parse("Expression of interest\nPbR pathfinder\n\nCouncil: Camden\n"))
    assert draft.offer == "pbr-pathfinder" and draft.values == {"council": CAMDEN}


def test_text_values_are_stripped_of_stray_bold(parse):
    draft = one(parse("Support needed: *help with consultation* \nCouncil: Camden", subject="EOI sure start"))
    assert draft.values["support_needed"] == "help with consultation"


# --- value types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Herts CC", HERTS),
        ("RBKC", RBKC),
        ("London Borough of Camden", CAMDEN),
        ("Camden Council", CAMDEN),
        ("camden", CAMDEN),
        ("Bury Metropolitan Borough Council", BURY),
        ("Kingston upon Hull", HULL),
        ("Royal Borough of Kingston upon Thames", KINGSTON_THAMES),
        (CAMDEN, CAMDEN),
        ("Camden (London)", CAMDEN),
        ("Camden - Children's Services", CAMDEN),
    ],
)
def test_council_names_resolve(parse, name, code):
    assert one(parse(f"Council: {name}", subject="EOI PbR")).values["council"] == code


def test_ambiguous_council_names_the_candidates(parse):
    draft = one(parse("Council: Kingston\nNumber of centres: 5", subject="EOI PbR"))
    assert "council" not in draft.values
    [error] = draft.errors
    assert error.field == "council"
    assert set(error.candidates) == {"Royal Borough of Kingston upon Thames", "Hull City Council"}
    assert error.message == (
        "We could not tell which council 'Kingston' is: Royal Borough of Kingston upon Thames or Hull City Council?"
    )
    assert draft.values["centres"] == 5  # the rest is still read


def test_unknown_council_is_an_error(parse):
    draft = one(parse("Council: Narnia", subject="EOI PbR"))
    [error] = draft.errors
    assert error.field == "council" and "Narnia" in error.message


@pytest.mark.parametrize(
    ("value", "message_part"),
    [
        ("about a dozen", "must be a whole number"),
        ("12.5", "must be a whole number"),
        ("lots", "must be a whole number"),
        ("-3", "must be at least 0"),
    ],
)
def test_bad_integers(parse, value, message_part):
    draft = one(parse(f"Council: Camden\nNumber of children's centres: {value}", subject="EOI PbR"))
    assert "centres" not in draft.values
    [error] = draft.errors
    assert error.field == "centres" and message_part in error.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("jane.smith@camden.gov.uk", "jane.smith@camden.gov.uk"),
        ("Jane.Smith@Camden.GOV.UK", "jane.smith@camden.gov.uk"),
        ("Jane Smith <jane.smith@camden.gov.uk>", "jane.smith@camden.gov.uk"),
        ("mailto:jane.smith@camden.gov.uk", "jane.smith@camden.gov.uk"),
        ("jane.smith@camden.gov.uk<mailto:jane.smith@camden.gov.uk>", "jane.smith@camden.gov.uk"),
    ],
)
def test_emails(parse, value, expected):
    assert one(parse(f"Contact email: {value}", subject="EOI PbR")).values["contact_email"] == expected


@pytest.mark.parametrize("value", ["jane at camden dot gov dot uk", "jane@", "jane@camden", "n/a"])
def test_bad_emails(parse, value):
    draft = one(parse(f"Contact email: {value}", subject="EOI PbR"))
    assert "contact_email" not in draft.values
    assert [e.field for e in draft.errors] == ["contact_email"]


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        ("Salford, Trafford and Stockport", ["E08000006", "E08000009", "E08000007"]),
        ("Salford; Trafford; Stockport", ["E08000006", "E08000009", "E08000007"]),
        ("Redcar and Cleveland and Middlesbrough", ["E06000003", "E06000002"]),
        ("Brighton & Hove", ["E06000043"]),
        ("none", []),
    ],
)
def test_council_lists(parse, value, codes):
    draft = one(parse(f"Council: Bolton\nOther councils in the cluster: {value}", subject="Early adopter EOI"))
    assert draft.values["cluster"] == codes
    assert draft.errors == []


def test_council_list_with_an_unknown_member(parse):
    draft = one(parse("Cluster: Salford, Narnia", subject="Early adopter EOI"))
    assert "cluster" not in draft.values
    [error] = draft.errors
    assert error.field == "cluster" and "Narnia" in error.message


# --- which offer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "body", "offer"),
    [
        ("EOI - Payment by Results pathfinder", "Council: Camden", "pbr-pathfinder"),
        ("Expression of interest", "Offer: early adopter\nCouncil: Camden", "early-adopter"),
        ("Expression of interest", "Programme: Sure Start children's centres\nCouncil: Camden", "children-centres-support"),
        ("", "Expression of interest: peer challenge\nCouncil: Camden", "early-adopter"),
        ("Camden", "Council: Camden\nNumber of centres: 9", "pbr-pathfinder"),  # implied by its own field
        ("Camden", "Council: Camden\nSupport needed: advice", "children-centres-support"),
        ("", "We'd like to apply for the PbR pathfinder.\nCouncil: Camden", "pbr-pathfinder"),
    ],
)
def test_offer_detection(parse, subject, body, offer):
    assert one(parse(body, subject=subject)).offer == offer


def test_two_offers_on_one_offer_line(parse):
    result = parse(
        "Offer: PbR pathfinder and children's centres support\n"
        "Council: Herts CC\nContact name: Priya\nNumber of centres: 40\nSupport needed: needs analysis",
        subject="Expressions of interest",
    )
    assert result.kind == "submission"
    pbr, ccs = result.submissions
    assert (pbr.offer, ccs.offer) == ("pbr-pathfinder", "children-centres-support")
    assert pbr.values == {"council": HERTS, "contact_name": "Priya", "centres": 40}
    assert ccs.values == {"council": HERTS, "contact_name": "Priya", "support_needed": "needs analysis"}


def test_two_offers_in_the_subject(parse):
    result = parse("Council: Camden", subject="EOI: early adopter and PbR")
    assert [d.offer for d in result.submissions] == ["early-adopter", "pbr-pathfinder"]
    assert all(d.values == {"council": CAMDEN} for d in result.submissions)


def test_fields_without_an_offer_ask_which(parse):
    result = parse("Council: Camden\nContact name: Jane")
    draft = one(result)
    assert draft.offer == ""
    assert draft.values == {"council": CAMDEN, "contact_name": "Jane"}
    assert [e.field for e in draft.errors] == ["offer"]


def test_an_offer_named_with_nothing_else_is_an_empty_submission(parse, campaign):
    draft = one(parse("", subject="EOI: PbR"))
    assert (draft.offer, draft.values, draft.errors) == ("pbr-pathfinder", {}, [])
    missing = {e.field for e in missing_required(campaign, "pbr-pathfinder", draft.values)}
    assert missing == {"council", "contact_name", "contact_email", "contact_role", "centres"}


def test_a_reply_naming_an_offer_without_content_is_not_a_submission(parse):
    assert parse("Thanks, noted.", subject="RE: PbR pathfinder").kind == "enquiry"


def test_offers_in_prefers_the_longest_alias(campaign):
    assert offers_in("Children's centres support", campaign) == ["children-centres-support"]
    assert offers_in("the PbR pathfinder and the peer challenge", campaign) == ["pbr-pathfinder", "early-adopter"]
    assert offers_in("nothing here", campaign) == []


# --- nominations ------------------------------------------------------------------------------


def test_compact_nomination_any_order(parse):
    result = parse(
        "Region: London\n"
        "Lead DCS: Jane Smith, Camden, jane.smith@camden.gov.uk\n"
        "Lead member: cllr.b@hackney.gov.uk; Cllr Bea Brown; Hackney\n"
        "Lead chief executive: Camden, Sam Lee, sam.lee@camden.gov.uk\n"
    )
    assert result.kind == "nomination"
    [nomination] = result.nominations
    assert nomination.region == "London" and nomination.errors == []
    people = {p.role: (p.name, p.council_code, p.email) for p in nomination.people}
    assert people == {
        "lead-dcs": ("Jane Smith", CAMDEN, "jane.smith@camden.gov.uk"),
        "lead-member": ("Cllr Bea Brown", "E09000012", "cllr.b@hackney.gov.uk"),
        "lead-chief-executive": ("Sam Lee", CAMDEN, "sam.lee@camden.gov.uk"),
    }


def test_separate_nomination_lines(parse):
    [nomination] = parse(
        "Region: South East\nLead DCS name: Ann Lee\nLead DCS council: Kent\nLead DCS email: ann.lee@kent.gov.uk"
    ).nominations
    assert nomination.region == "South East"
    [person] = nomination.people
    assert (person.role, person.name, person.council_code, person.email) == (
        "lead-dcs", "Ann Lee", "E10000016", "ann.lee@kent.gov.uk")


def test_nomination_missing_email_and_region(parse):
    [nomination] = parse("Lead DCS: Jane Smith, Narnia").nominations
    fields = [e.field for e in nomination.errors]
    assert "region" in fields
    assert "lead-dcs.council" in fields
    assert "lead-dcs.email" in fields


def test_nomination_council_from_the_address(parse):
    [nomination] = parse("Region: London\nLead member: Cllr Bea Brown, bea.brown@hackney.gov.uk").nominations
    [person] = nomination.people
    assert person.council_code == "E09000012" and nomination.errors == []


def test_unknown_region(parse):
    [nomination] = parse("Region: Atlantis\nLead DCS: Jane Smith, Camden, j@camden.gov.uk").nominations
    assert nomination.region is None
    assert [e.field for e in nomination.errors] == ["region"]


# --- references, withdraw, amend ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "references"),
    [
        ("Ref PBR-0007", ["PBR-0007"]),
        ("pbr-7 and ccs-12", ["PBR-0007", "CCS-0012"]),
        ("PBR0007", ["PBR-0007"]),
        ("RL-0003", ["RL-0003"]),
        ("ea – 21", ["EA-0021"]),
        ("the PBR 30 places", []),
        ("PBR-0007 again PBR-7", ["PBR-0007"]),
        ("SPBR-0007", []),
    ],
)
def test_find_references(campaign, text, references):
    assert find_references(text, campaign) == references


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Withdrawal PBR-0007", "Please withdraw our expression of interest."),
        ("RE: Your expression of interest PBR-0007", "We no longer wish to take part."),
        ("", "Please cancel pbr-7, thanks"),
        ("", "We have withdrawn from PBR-0007.\nCouncil: Camden"),  # withdraw beats amend
    ],
)
def test_withdraw(parse, subject, body):
    result = parse(body, subject=subject)
    assert result.kind == "withdraw"
    assert result.references == ["PBR-0007"]


def test_withdraw_needs_a_reference(parse):
    assert parse("Please withdraw our expression of interest.").kind != "withdraw"


def test_amend_holds_only_the_values_given(parse):
    result = parse("Number of centres: 14\nContact name: Bob", subject="RE: PBR-0007")
    assert result.kind == "amend"
    [draft] = result.submissions
    assert draft.offer == "pbr-pathfinder"
    assert draft.values == {"centres": 14, "contact_name": "Bob"}


def test_amend_ignores_fields_of_other_offers(parse):
    [draft] = parse("Support needed: x\nCouncil: Camden", subject="EA-0002").submissions
    assert draft.offer == "early-adopter" and draft.values == {"council": CAMDEN}


def test_amend_a_nomination(parse):
    result = parse("Lead DCS: Jane Smith, Camden, jane.smith@camden.gov.uk", subject="RE: RL-0003")
    assert result.kind == "amend"
    [nomination] = result.nominations
    assert nomination.region is None and nomination.errors == []  # the region is already on record
    assert nomination.people[0].council_code == CAMDEN


def test_reference_without_values_or_withdrawal_is_an_enquiry(parse):
    result = parse("Thanks for confirming.", subject="RE: PBR-0007")
    assert result.kind == "enquiry" and result.references == ["PBR-0007"]


# --- queries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("when is the PbR deadline?", Query("deadline", offer="pbr-pathfinder")),
        ("When is the deadline for the early adopter offer?", Query("deadline", offer="early-adopter")),
        ("what's the closing date for sure start support", Query("deadline", offer="children-centres-support")),
        ("when are regional leads due?", Query("deadline", offer="regional-leads")),
        ("what deadlines are coming up?", Query("deadlines")),
        ("deadlines?", Query("deadlines")),
        ("When is the deadline?", Query("deadlines")),
        ("what have we submitted?", Query("status")),
        ("what have we sent?", Query("status")),
        ("status", Query("status")),
        ("Have you received our EOI?", Query("status")),
        ("who are the regional leads for London?", Query("leads", region="London")),
        ("who are the London leads?", Query("leads", region="London")),
        ("Who are the leads in the North West region?", Query("leads", region="North West")),
        ("list the regional leads", Query("leads")),
        ("send me the form for the early adopter offer", Query("form", offer="early-adopter")),
        ("form for pbr", Query("form", offer="pbr-pathfinder")),
        ("Can I have the nomination form please?", Query("form", offer="regional-leads")),
        ("form", Query("form")),
        ("help", Query("help")),
        ("Help", Query("help")),
        ("What is the closing date for the regional lead nominations?", Query("deadline", offer="regional-leads")),
        ("When is the deadline for names of the regional leads?", Query("deadline", offer="regional-leads")),
        ("Hi, what's the deadline for the regional leads list?", Query("deadline", offer="regional-leads")),
    ],
)
def test_queries(parse, text, query):
    result = parse(text)
    assert result.kind == "query"
    assert result.query == query


def test_help_in_the_subject_and_the_body_is_help(parse):
    assert parse("help", subject="help").query == Query("help")
    assert parse("Help", subject="HELP").query == Query("help")


def test_query_in_the_subject(parse):
    assert parse("", subject="PbR deadline?").query == Query("deadline", offer="pbr-pathfinder")


def test_submission_content_beats_a_question(parse):
    result = parse("When is the deadline?\nCouncil: Camden\nNumber of centres: 3", subject="EOI PbR")
    assert result.kind == "submission"


# --- enquiries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Could someone call me about how the peer challenge teams are chosen?",
        "Our lead member has asked whether the regions will meet in person. Thanks.",
        "We had a great session last week, thank you to the team.",
        "Please note: the council is reorganising its early help service this autumn.",
    ],
)
def test_enquiries(parse, text):
    result = parse(text)
    assert result.kind == "enquiry"
    assert result.text == text


def test_empty_message_is_an_empty_enquiry(parse):
    result = parse("", subject="")
    assert (result.kind, result.text) == ("enquiry", "")


def test_text_includes_the_subject(parse):
    assert parse("body", subject="Hello").text == "Hello\nbody"


# --- forms, defaults, missing -----------------------------------------------------------------


def test_parse_form(campaign, councils):
    draft = parse_form(
        "pbr-pathfinder",
        {"council": "Herts CC", "contact_name": " Priya ", "contact_email": "P@Herts.gov.uk",
         "contact_role": "", "centres": "40", "unknown": "x"},
        campaign=campaign, councils=councils,
    )
    assert draft.offer == "pbr-pathfinder"
    assert draft.values == {"council": HERTS, "contact_name": "Priya", "contact_email": "p@herts.gov.uk", "centres": 40}
    assert draft.errors == []


def test_parse_form_errors(campaign, councils):
    draft = parse_form("pbr-pathfinder", {"council": "Kingston", "centres": "a dozen"}, campaign=campaign, councils=councils)
    assert {e.field for e in draft.errors} == {"council", "centres"}
    assert parse_form("nope", {}, campaign=campaign, councils=councils).errors[0].field == "offer"


def test_parse_nomination_form(campaign, councils):
    draft = parse_nomination_form(
        {"region": "West Mids", "lead-dcs.name": "Dev Patel", "lead-dcs.council": "Birmingham",
         "lead-dcs.email": "dev.patel@birmingham.gov.uk", "lead-member.name": "Cllr Hill",
         "lead-member.council": "", "lead-member.email": ""},
        campaign=campaign, councils=councils,
    )
    assert draft.region == "West Midlands"
    assert [p.role for p in draft.people] == ["lead-member", "lead-dcs"]
    assert {e.field for e in draft.errors} == {"lead-member.council", "lead-member.email"}
    assert parse_nomination_form({}, campaign=campaign, councils=councils).errors == [
        FieldError("region", "Which region are these regional leads for?")
    ]


def test_missing_required(campaign):
    errors = missing_required(campaign, "pbr-pathfinder", {"council": CAMDEN, "contact_name": "", "centres": 0})
    assert [e.field for e in errors] == ["contact_name", "contact_email", "contact_role"]
    assert errors[0].message == "Enter the contact name"
    assert missing_required(campaign, "nope", {})[0].field == "offer"


def test_apply_defaults(campaign, councils):
    filled = apply_defaults(campaign, "pbr-pathfinder", {"centres": 3}, sender="Jane.Smith@Camden.gov.uk", councils=councils)
    assert filled == {"centres": 3, "contact_email": "jane.smith@camden.gov.uk", "council": CAMDEN}
    given = {"council": HERTS, "contact_email": "x@herts.gov.uk"}
    assert apply_defaults(campaign, "pbr-pathfinder", given, sender="j@camden.gov.uk", councils=councils) == given
    assert apply_defaults(campaign, "pbr-pathfinder", {}, sender="someone@gmail.com", councils=councils) == {
        "contact_email": "someone@gmail.com"
    }
    assert apply_defaults(campaign, "pbr-pathfinder", {}, sender=None, councils=councils) == {}


def test_slack_escaping_and_links(parse):
    draft = one(parse(
        "Offer: sure start\nCouncil: Brighton &amp; Hove\n"
        "Contact email: <mailto:a.b@brighton-hove.gov.uk|a.b@brighton-hove.gov.uk>"
    ))
    assert draft.offer == "children-centres-support"
    assert draft.values == {"council": "E06000043", "contact_email": "a.b@brighton-hove.gov.uk"}


def test_an_offer_line_naming_no_offer_is_prose(parse):
    assert parse("Re: the peer challenge, could you call me?").kind == "enquiry"
    assert parse("Offer: something else entirely").kind == "enquiry"


def test_cancelling_something_else_is_not_a_withdrawal(parse):
    result = parse("We had to cancel the meeting, but here is the update.\nNumber of centres: 9",
                   subject="RE: Your expression of interest PBR-0007")
    assert result.kind == "amend"
    assert result.submissions[0].values == {"centres": 9}
