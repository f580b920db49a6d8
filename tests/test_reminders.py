"""Reminder planning as pure functions: when the slots fall, which are due, who has not
answered, and who is told."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from intake.campaign.definition import load_campaign
from intake.campaign.contacts import parse_contacts
from intake.campaign.register import ConfigError, load_councils
from intake.reports.reminders import (
    Facts,
    NominationFact,
    SubmissionFact,
    address,
    due_slots,
    missed_slots,
    outstanding,
    reminder_context,
    reminder_slots,
    senders_by_council,
)
from intake.runtime.settings import DEFAULT_CONFIG_DIR

LONDON = ZoneInfo("Europe/London")
CAMPAIGN = load_campaign(DEFAULT_CONFIG_DIR / "campaign.toml")
COUNCILS = load_councils(DEFAULT_CONFIG_DIR / "councils.csv")
CAMDEN = "E09000007"
HACKNEY = COUNCILS.resolve("Hackney").council.code


def at(day: int, month: int = 5, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=LONDON)


def slot_days(key: str) -> list[date]:
    return [s.at.date() for s in reminder_slots(CAMPAIGN) if key in s.targets]


def test_slots_fall_on_working_days_before_each_deadline():
    # PbR and children's centres support close on Thursday 27 May 2027, 5pm.
    assert slot_days("pbr-pathfinder") == [date(2027, 5, 13), date(2027, 5, 20), date(2027, 5, 25), date(2027, 5, 27)]
    # Early adopter closes Monday 7 June: counting back skips Monday 31 May (Spring bank
    # holiday) and the weekend, so ten working days before is Friday 21 May.
    assert slot_days("early-adopter") == [date(2027, 5, 21), date(2027, 5, 28), date(2027, 6, 3), date(2027, 6, 7)]
    # Regional leads close on the bank holiday itself: the last reminder is the Friday before.
    assert slot_days("regional-leads") == [date(2027, 5, 14), date(2027, 5, 21), date(2027, 5, 26), date(2027, 5, 28)]
    every = [s.at for s in reminder_slots(CAMPAIGN)]
    assert date(2027, 5, 31) not in {moment.date() for moment in every}
    assert all(moment.weekday() < 5 and (moment.hour, moment.minute) == (9, 0) for moment in every)


def test_offers_sharing_a_deadline_share_a_slot():
    [slot] = [s for s in reminder_slots(CAMPAIGN) if s.at == at(13)]
    assert set(slot.targets) == {"pbr-pathfinder", "children-centres-support"}
    assert slot.send_key("a@b.gov.uk") == "reminder:2027-05-27T16:00Z:10:a@b.gov.uk"


def test_due_within_grace_and_missed_beyond_it():
    assert due_slots(CAMPAIGN, at(13, hour=8, minute=59)) == []
    assert [s.offset for s in due_slots(CAMPAIGN, at(13))] == [10]
    assert [s.offset for s in due_slots(CAMPAIGN, at(13, hour=20, minute=59))] == [10]  # 11h59 late
    assert due_slots(CAMPAIGN, at(13, hour=21, minute=1)) == []  # 12h01 late: too late
    missed = missed_slots(CAMPAIGN, at(14, hour=8), since=at(12))
    assert [(s.at, s.offset) for s in missed] == [(at(13), 10)]
    # Reminders ran after that slot: nothing to report as missed.
    assert missed_slots(CAMPAIGN, at(14, hour=8), since=at(13, hour=9, minute=1)) == []


def test_outstanding_counts_active_submissions_and_cluster_members():
    [slot] = [s for s in reminder_slots(CAMPAIGN) if s.at == at(21) and "early-adopter" in s.targets]
    when = at(20)
    submissions = [
        SubmissionFact(CAMDEN, "early-adopter", "EA-0001", "active", when, also_councils=(HACKNEY,)),
        SubmissionFact("E08000025", "early-adopter", "EA-0002", "withdrawn", when),
    ]
    pending = outstanding(CAMPAIGN, COUNCILS, slot, submissions, [])
    assert CAMDEN not in pending.offers and HACKNEY not in pending.offers
    assert pending.offers["E08000025"] == ("early-adopter",)  # withdrawn is not an answer
    assert len(pending.offers) == len(COUNCILS) - 2
    assert pending.roles == {}


def test_outstanding_lists_unnamed_roles_per_region():
    [slot] = [s for s in reminder_slots(CAMPAIGN) if s.at == at(14)]
    named = [NominationFact("London", "lead-member", "Ann"), NominationFact("London", "lead-dcs", "Tom")]
    pending = outstanding(CAMPAIGN, COUNCILS, slot, [], named)
    assert pending.offers == {}
    assert pending.roles["London"] == ("lead-chief-executive",)
    assert pending.roles["North East"] == ("lead-member", "lead-chief-executive", "lead-dcs")
    assert len(pending.roles) == 9


CONTACTS = """\
# comment
council,region,name,role,email,slack_channel
Camden,,,DCS,dcs@camden.gov.uk,
E09000012,,,DCS,DCS@Hackney.gov.uk,
,London,,,dcs@camden.gov.uk,#cib-london
,North East,,,,C0NORTHEAST
"""


def test_a_council_is_reminded_at_its_latest_proven_sender_only():
    senders = senders_by_council(
        [("old.officer@camden.gov.uk", True), ("forged@camden.gov.uk", False), ("New.Officer@camden.gov.uk", True),
         ("x@gmail.com", True), ("later.forgery@camden.gov.uk", False)],
        COUNCILS,
    )
    assert senders == {CAMDEN: ["new.officer@camden.gov.uk"]}


def test_the_subject_names_only_what_the_recipient_still_owes():
    slot = next(s for s in reminder_slots(CAMPAIGN) if {"pbr-pathfinder", "children-centres-support"} <= set(s.targets))
    sent = SubmissionFact(council_code=CAMDEN, offer="pbr-pathfinder", reference="PBR-0001", status="active",
                          received_at=slot.at - timedelta(days=3), late=False, verified=True, also_councils=())
    pending = outstanding(CAMPAIGN, COUNCILS, slot, [sent], [])
    contacts = parse_contacts(CONTACTS, COUNCILS)
    reminders, _ = address(slot, pending, councils=COUNCILS, contacts=contacts, senders={}, nominations=[])
    [camden] = [r for r in reminders if r.recipient == "dcs@camden.gov.uk"]
    context = reminder_context(camden, pending, Facts(submissions=[sent]), campaign=CAMPAIGN, councils=COUNCILS,
                               now=slot.at, intake_address="eoi@cib.test")
    keys = [d["key"] for d in context["due"]]
    assert "children-centres-support" in keys and "pbr-pathfinder" not in keys


def test_contacts_file_and_senders_become_one_message_per_recipient():
    contacts = parse_contacts(CONTACTS, COUNCILS)
    assert contacts.council_emails(CAMDEN) == ["dcs@camden.gov.uk"]
    assert contacts.region_channels == {"London": "#cib-london", "North East": "C0NORTHEAST"}
    slot = next(s for s in reminder_slots(CAMPAIGN) if s.at == at(21) and "regional-leads" in s.targets)
    pending = outstanding(CAMPAIGN, COUNCILS, slot, [], [])
    senders = senders_by_council([("Jane.Smith@camden.gov.uk", True), ("x@gmail.com", True)], COUNCILS)
    reminders, unreachable = address(
        slot, pending, councils=COUNCILS, contacts=contacts, senders=senders, nominations=[], team_channel="#cib-team"
    )
    emails = {r.recipient: r for r in reminders if r.channel == "email"}
    # The London region contact is also Camden's DCS: one message about both.
    assert emails["dcs@camden.gov.uk"].regions == ("London",)
    assert "jane.smith@camden.gov.uk" not in emails  # leads go to region contacts, not every sender
    slack = {r.recipient: r for r in reminders if r.channel == "slack"}
    assert slack["#cib-london"].regions == ("London",)
    assert slack["C0NORTHEAST"].regions == ("North East",)
    assert set(slack["#cib-team"].regions) == {"North West", "Yorkshire and The Humber", "East Midlands",
                                              "West Midlands", "East of England", "South East", "South West"}
    # Regions with no contact at all are reported, not silently dropped.
    assert "South West" in unreachable and "London" not in unreachable
    assert len({r.send_key for r in reminders}) == len(reminders)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("council,region,name,role,email,slack_channel\nNowhere Borough,,,,a@b.gov.uk,\n", "line 2: unknown council"),
        ("council,region,name,role,email,slack_channel\nCamden,,,,not-an-address,\n", "not an email address"),
        ("# c\ncouncil,region,name,role,email,slack_channel\n,Atlantis,,,a@b.gov.uk,\n", "line 3: unknown region"),
        ("council,region,name,role,email,slack_channel\n,,,,a@b.gov.uk,\n", "give a council or a region"),
    ],
)
def test_bad_contacts_rows_name_the_line(text, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_contacts(text, COUNCILS)


def test_shipped_contacts_file_loads():
    from intake.campaign.contacts import load_contacts

    contacts = load_contacts(DEFAULT_CONFIG_DIR / "contacts.csv", COUNCILS)
    assert contacts.by_council and contacts.region_channels


def test_grace_is_configurable():
    strict = CAMPAIGN.model_copy(update={"reminders": CAMPAIGN.reminders.model_copy(update={"grace_hours": 1})})
    assert due_slots(strict, at(13) + timedelta(minutes=59))
    assert due_slots(strict, at(13) + timedelta(minutes=61)) == []
