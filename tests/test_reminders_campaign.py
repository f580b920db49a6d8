"""A whole campaign in simulated time: May and June 2027, the jobs called at each day's
09:00 (reminders) and 08:30 (digest), councils answering through the real service, a
restart in the middle, and every message read back from a real SMTP relay."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from intake.runtime.composition import create_service
from intake.jobs import send_digest, send_due_reminders
from tests.campaign_seed import flush, nominate, submit

LONDON = ZoneInfo("Europe/London")

CONTACTS = """\
council,region,name,role,email,slack_channel
Camden,,,DCS,dcs@camden.gov.uk,
Leeds,,,DCS,dcs@leeds.gov.uk,
Kent,,,DCS,dcs@kent.gov.uk,
,London,,Regional lead,london.lead@camden.gov.uk,
"""


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


async def test_campaign_reminds_only_the_silent_on_working_days_and_never_twice(settings_factory, clock, relay, tmp_path):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(CONTACTS)
    settings = settings_factory(contacts_file=contacts)
    runtime = create_service(settings, clock=clock)
    await runtime.start(smtp=False, slack=False, scheduler=False)
    received: dict[str, list[tuple[date, EmailMessage]]] = defaultdict(list)
    seen = 0

    async def collect(day: date) -> None:
        # Everything recorded is handed to the relay (by us or the background worker).
        nonlocal seen
        await flush(runtime)
        for message in relay.messages[seen:]:
            received[str(message["To"]).lower()].append((day, message))
        seen = len(relay.messages)

    async def at(day: date, hour: int, minute: int = 0) -> datetime:
        clock.set(datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON))
        return clock()

    try:
        for day in days(date(2027, 5, 1), date(2027, 6, 9)):
            # Councils answer during the day, through the real service.
            if day == date(2027, 5, 10):
                await at(day, 14)
                await submit(runtime, "pbr-pathfinder", "Camden", sender="jane.smith@camden.gov.uk")
            if day == date(2027, 5, 18):
                await at(day, 11)
                await submit(runtime, "pbr-pathfinder", "Leeds", sender="sam.ali@leeds.gov.uk")
                await submit(runtime, "children-centres-support", "Leeds", sender="sam.ali@leeds.gov.uk")
            if day == date(2027, 5, 24):
                await at(day, 16)
                await nominate(
                    runtime, "London",
                    {"Lead member": "Cllr Ann Jones, Camden, ann.jones@camden.gov.uk",
                     "Lead chief executive": "Jo Green, Islington, jo.green@islington.gov.uk",
                     "Lead DCS": "Tom Brown, Hackney, tom.brown@hackney.gov.uk"},
                    sender="ann.jones@camden.gov.uk",
                )
            await send_digest(runtime.jobs, now=await at(day, 8, 30))
            await send_due_reminders(runtime.jobs, now=await at(day, 9))
            await collect(day)
            if day == date(2027, 5, 21):
                # A restart in the middle of the campaign, and a catch-up run at 9:30.
                await runtime.stop()
                runtime = create_service(settings, clock=clock)
                await runtime.start(smtp=False, slack=False, scheduler=False)
                report = await send_due_reminders(runtime.jobs, now=await at(day, 9, 30), catch_up=True)
                assert report.due and report.recorded == 0
                await collect(day)
    finally:
        await runtime.stop()

    def reminder_days(address: str) -> list[date]:
        return [d for d, m in received[address] if "Reminder" in m["Subject"] or "Last day" in m["Subject"]]

    # Kent never answers: every slot of every deadline, on working days only. Kent is the
    # only listed contact in the South East, so it hears about the region's leads too.
    kent = reminder_days("dcs@kent.gov.uk")
    assert sorted(set(kent)) == [
        date(2027, 5, 13), date(2027, 5, 14), date(2027, 5, 20), date(2027, 5, 21), date(2027, 5, 25),
        date(2027, 5, 26), date(2027, 5, 27), date(2027, 5, 28), date(2027, 6, 3), date(2027, 6, 7),
    ]
    assert kent.count(date(2027, 5, 21)) == 2  # early adopter (10 days) and regional leads (5 days)
    every_day = {d for messages in received.values() for d, _ in messages}
    assert all(d.weekday() < 5 and d != date(2027, 5, 31) for d in kent)

    # Camden sent its PbR expression of interest on 10 May: reminded of the rest only, and
    # the person who wrote is reminded as well as the listed contact.
    camden = [m for d, m in received["dcs@camden.gov.uk"] if d == date(2027, 5, 13)]
    assert len(camden) == 1
    body = text_of(camden[0])
    assert "Sector-led support for local decisions" in body
    assert "Payment by Results pathfinder for children" not in body
    assert "PBR-0001: PbR pathfinder" in body  # what has been received so far
    assert "eoi@cib.test" in body and "/cib eoi children-centres-support" in body
    assert date(2027, 5, 13) in reminder_days("jane.smith@camden.gov.uk")

    # Leeds answered both on 18 May: reminded on 13 May, not after.
    leeds_offers = [d for d, m in received["dcs@leeds.gov.uk"] if "PbR" in m["Subject"]]
    assert leeds_offers == [date(2027, 5, 13)]

    # London named all three leads on 24 May: no leads reminders on 26 or 28 May.
    assert reminder_days("london.lead@camden.gov.uk") == [date(2027, 5, 14), date(2027, 5, 21)]

    # One digest a day to the CIB team, whatever the restart.
    digests = [d for d, m in received["team@local.gov.uk"]]
    assert digests == list(days(date(2027, 5, 1), date(2027, 6, 9)))

    # Exactly once: every message arrived once, and the restart added nothing.
    ids = [m["Message-ID"] for m in relay.messages]
    assert len(ids) == len(set(ids))
    keys = [(str(m["To"]), m["Subject"]) for m in relay.messages]
    assert len(keys) == len(set(keys))
    assert date(2027, 5, 31) not in {d for d in every_day if any("Reminder" in m["Subject"] for _, m in received["dcs@kent.gov.uk"] if _ == d)}
