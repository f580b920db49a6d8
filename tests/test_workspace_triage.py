"""What could not go through on its own, handled from the workspace's "Needs a person"
page: messages run again with a council and offer, drafts closed, late entries accepted
or not, replies sent again, bounces and unreachable addresses."""
from __future__ import annotations

from sqlalchemy import select, update

from intake.models import IncompleteSubmission, InboundMessage, OutboundMessage
from tests.campaign_seed import submit
from tests.mailer import body_text, message, send, settle
from tests.team_browser import TeamBrowser

NO_COUNCIL = """
    Contact name: Sam Khan
    Contact role: Head of Early Help
    Number of children's centres: 9
"""

BOUNCE = b"""From: MAILER-DAEMON@mx.wigan.gov.uk
To: eoi@cib.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.wigan.gov.uk>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.wigan.gov.uk. Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.wigan.gov.uk

Final-Recipient: rfc822; gone.person@wigan.gov.uk
Action: failed
Status: 5.1.1

--B--
"""


async def _form(browser: TeamBrowser, section: str, action: str):
    page = await browser.get("/team/needs")
    forms = [f for f in page.soup.select(f"#{section} form") if f["action"].startswith(action)]
    assert forms, f"no {action} form in #{section}: {page.soup.find(id=section)}"
    return page, forms[0]["action"]


async def test_a_draft_is_given_its_council_and_offer_and_run_again(runtime, relay):
    await send(runtime, message(NO_COUNCIL, sender="sam.khan@gmail.com", subject="Pathfinder",
                                message_id="<d-1@gmail.com>"), mail_from="sam.khan@gmail.com")
    await settle(runtime)
    assert (await runtime.service.export())["submissions"] == []
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        needs = await browser.get("/team/needs")
        section = needs.soup.find(id="drafts") or needs.soup.find(id="stuck")
        assert "sam.khan@gmail.com" in needs.text
        action = section.find("form", action=lambda a: a and a.endswith("/run-again"))["action"]
        unknown = await browser.submit(needs, action, council="E99999999", offer="pbr-pathfinder")
        assert "Choose a council from the list" in unknown.text
        ambiguous = await browser.submit(needs, action, council="Kingston", offer="pbr-pathfinder")
        assert "Which council: " in ambiguous.text
        field = section.find("input", attrs={"name": "council"})
        assert field["list"] == "council-names" and needs.soup.find("datalist", id="council-names").find(
            "option", value="Slough Borough Council") is not None
        done = await browser.submit(needs, action, council="Slough Borough Council", offer="pbr-pathfinder")
        assert "was processed again: submission (ack sent)" in done.text
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["council"] == "Slough Borough Council" and submission["offer"] == "pbr-pathfinder"
    assert submission["verified"] is False  # the team said which council, not that the sender is theirs
    await runtime.delivery.flush()
    assert "We have recorded" in body_text(relay.to("sam.khan@gmail.com")[-1])


async def test_a_failed_message_and_a_draft_are_marked_handled(runtime, relay):
    await send(runtime, message("Council: Camden\nContact name: Jane Smith", subject="Payment by Results pathfinder"))
    await send(runtime, message("Something we could not process", subject="Hello", message_id="<f-1@camden.gov.uk>"))
    await settle(runtime)
    async with runtime.store.unit() as unit:  # as if processing had failed on it (our fault)
        await unit.session.execute(update(InboundMessage).where(InboundMessage.external_id == "<f-1@camden.gov.uk>")
                                   .values(status="failed", classification="failed"))
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page, action = await _form(browser, "stuck", "/team/messages/")
        handled = [f["action"] for f in page.soup.select("#stuck form") if f["action"].endswith("/handled")][0]
        done = await browser.submit(page, handled)
        assert "is marked as handled" in done.text and "None." in done.soup.find(id="stuck").get_text()
        page, close = await _form(browser, "drafts", "/team/drafts/")
        closed = await browser.submit(page, close)
        assert "The draft is closed" in closed.text and "None." in closed.soup.find(id="drafts").get_text()
        trail = await browser.get("/team/")
        assert "could not be processed" not in trail.text
    async with runtime.store.reader() as unit:
        drafts = list(await unit.session.scalars(select(IncompleteSubmission)))
        assert [d.status for d in drafts] == ["closed"]


async def test_late_entries_are_accepted_or_not(runtime, relay, clock):
    clock.set("2027-05-28T10:00:00+01:00")  # the day after the PbR and CCS deadlines
    await submit(runtime, "pbr-pathfinder", "Wigan", sender="officer@wigan.gov.uk")
    await submit(runtime, "children-centres-support", "Leeds", sender="officer@leeds.gov.uk")
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get("/team/needs")
        assert "PBR-0001" in page.soup.find(id="late").get_text()
        accepted = await browser.submit(page, "/team/entries/PBR-0001/accept-late")
        assert "PBR-0001 is accepted although late. The sender has been told." in accepted.text
        refused = await browser.submit(accepted, "/team/entries/CCS-0001/reject?back=/team/needs%23late",
                                       reason="It arrived after the deadline.")
        assert "CCS-0001 is rejected" in refused.text
        assert "None." in refused.soup.find(id="late").get_text()
    exported = {s["reference"]: s for s in (await runtime.service.export())["submissions"]}
    assert exported["PBR-0001"]["late"] is True and exported["CCS-0001"]["status"] == "rejected"
    await runtime.delivery.flush()
    assert "has accepted it: it counts" in body_text(relay.to("officer@wigan.gov.uk")[-1])
    assert "It arrived after the deadline." in body_text(relay.to("officer@leeds.gov.uk")[-1])


async def test_a_reply_that_failed_is_sent_again_or_its_address_given_up(runtime, relay):
    await submit(runtime, "pbr-pathfinder", "Wigan", sender="officer@wigan.gov.uk")
    await submit(runtime, "pbr-pathfinder", "Leeds", sender="officer@leeds.gov.uk")
    await runtime.delivery.flush()
    async with runtime.store.unit() as unit:  # as if the relay had refused both for good
        await unit.session.execute(update(OutboundMessage).values(status="failed", error="550 5.1.1 no such user"))
    before = len(relay.to("officer@wigan.gov.uk"))
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get("/team/needs")
        rows = {tr.find("td").get_text(): tr for tr in page.soup.select("#failed tbody tr")}
        wigan = next(tr for text, tr in rows.items() if "wigan" in text)
        again = await browser.submit(page, wigan.find("form")["action"])
        assert "It will be sent again to officer@wigan.gov.uk now." in again.text
        given_up = await browser.submit(again, "/team/unreachable", address="officer@leeds.gov.uk")
        assert "officer@leeds.gov.uk is noted as unreachable" in given_up.text
        assert "None." in given_up.soup.find(id="failed").get_text()
    await runtime.delivery.flush()
    assert len(relay.to("officer@wigan.gov.uk")) == before + 1
    async with runtime.store.reader() as unit:
        assert await unit.unreachable.addresses() == {"officer@leeds.gov.uk"}


async def test_a_bounce_of_our_mail_notes_the_address_unreachable(runtime, relay):
    await send(runtime, BOUNCE, mail_from="")
    await settle(runtime)
    assert relay.messages == []  # a bounce is never answered
    async with TeamBrowser(runtime) as browser:
        page = await browser.sign_in(runtime, relay)
        assert "1 bounce of our mail" in page.text
        needs = await browser.get("/team/needs")
        assert "Did not reach: gone.person@wigan.gov.uk" in needs.text
        action = needs.soup.select("#bounces form")[0]["action"]
        done = await browser.submit(needs, action, address="gone.person@wigan.gov.uk", inbound_id="1",
                                    reason="our mail bounced")
        assert "gone.person@wigan.gov.uk is noted as unreachable" in done.text
        assert "None." in done.soup.find(id="bounces").get_text()


async def test_a_question_inside_an_expression_of_interest_is_kept_and_answered(runtime, relay):
    body = """
        Council: Wigan
        Contact name: Alex Morgan
        Contact role: Head of Service

        We would like to take part. What counts as a children's centre for this? We have some family hubs.
    """
    await send(runtime, message(body, sender="alex@wigan.gov.uk", subject="PbR pathfinder",
                                message_id="<eoi-q@wigan.gov.uk>"))
    await settle(runtime)
    reply = body_text(relay.to("alex@wigan.gov.uk")[-1])
    assert "Enter the number of children's centres" in reply  # the entry is partial...
    assert "You also asked: \"What counts as a children's centre for this?\"" in reply  # ...and the question kept
    [enquiry] = (await runtime.service.export())["enquiries"]
    assert enquiry["text"] == "What counts as a children's centre for this?"
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        needs = await browser.get("/team/needs")
        action = needs.soup.select("#enquiries form")[0]["action"]
        done = await browser.submit(needs, action, answer="Any site registered as a children's centre, family hubs included.")
        assert "The answer is on its way" in done.text
    await runtime.delivery.flush()
    answer = relay.to("alex@wigan.gov.uk")[-1]
    assert answer["In-Reply-To"] == "<eoi-q@wigan.gov.uk>" and "family hubs included" in body_text(answer)


async def test_nothing_scheduled_goes_to_an_address_noted_unreachable(settings_factory, clock, relay, tmp_path):
    from intake.runtime.composition import create_service
    from intake.jobs import send_due_reminders
    from intake.reports.reminders import reminder_slots

    contacts = tmp_path / "contacts.csv"
    contacts.write_text("council,region,name,role,email,slack_channel\n"
                        "Camden,,,DCS,dcs@camden.gov.uk,\nLeeds,,,DCS,dcs@leeds.gov.uk,\n")
    runtime = create_service(settings_factory(contacts_file=contacts), clock=clock)
    await runtime.start(smtp=False, slack=False, scheduler=False)
    try:
        done = await runtime.triage.unreachable("DCS@camden.gov.uk", actor="anna", reason="our mail bounced")
        assert done.ok
        slot = next(s for s in reminder_slots(runtime.campaign) if "pbr-pathfinder" in s.targets)
        report = await send_due_reminders(runtime.jobs, now=slot.at)
        await runtime.delivery.flush()
        assert relay.to("dcs@leeds.gov.uk") and not relay.to("dcs@camden.gov.uk")
        assert "dcs@camden.gov.uk (noted as unreachable)" in report.unreachable
    finally:
        await runtime.stop()
