"""The team's workspace over HTTP, as a team member's browser uses it: signing in from
the emailed link, the pages, and every action, each told to the sender by email."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from intake.runtime.composition import create_service
from tests.campaign_seed import nominate, submit
from tests.mailer import body_text, message, send, settle
from tests.team_browser import TEAM, TeamBrowser, link_in

PBR = """
    Council: Slough Borough Council
    Contact name: Sam Khan
    Contact role: Head of Early Help
    Number of children's centres: 9
"""


async def _unverified(runtime) -> str:
    raw = message(PBR + "\n<script>alert('x')</script>", sender="sam.khan@gmail.com", subject="PbR pathfinder",
                  message_id="<eoi-7@gmail.com>")
    await send(runtime, raw, mail_from="sam.khan@gmail.com")
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["verified"] is False
    return submission["reference"]


async def _enquiry(runtime, text: str, sender: str = "jane.smith@camden.gov.uk", number: int = 1) -> None:
    domain = sender.rpartition("@")[2]
    await send(runtime, message(text, sender=sender, subject="A question", message_id=f"<q-{number}@{domain}>"))
    await settle(runtime)


# --- signing in ---------------------------------------------------------------------------


async def test_without_a_session_every_page_sends_you_to_sign_in_and_shows_nothing(runtime):
    reference = await _unverified(runtime)
    async with TeamBrowser(runtime) as browser:
        for path in ("/team/", "/team/entries", f"/team/entries/{reference}", "/team/needs", "/team/appendix-a",
                     "/team/decisions.csv", "/team/appendix-a.xlsx"):
            page = await browser.get(path, follow=False)
            assert page.status == 303, path
            landed = await browser.get(path)
            assert landed.url.split("?")[0].endswith("/team/sign-in") and "Slough" not in landed.text
        # Nor does any action do anything.
        refused = await browser.post(f"/team/entries/{reference}/verify", {"csrf": "x"}, follow=False)
        assert refused.status == 303
    assert (await runtime.service.export())["submissions"][0]["verified"] is False
    async with TeamBrowser(runtime) as browser:
        assert (await browser.get("/", follow=False)).status == 302  # the root leads to the workspace


async def test_a_team_address_gets_a_link_that_works_once(runtime, relay):
    async with TeamBrowser(runtime) as browser:
        outsider = await browser.ask_for_link("someone@example.com")
        member = await browser.ask_for_link(TEAM)
        # The same answer whoever asks, so the form tells nobody who is on the team.
        assert outsider.status == member.status == 200
        assert outsider.text.replace("someone@example.com", "X") == member.text.replace(TEAM, "X")
        await runtime.delivery.flush()
        assert relay.to("someone@example.com") == []
        [mail] = relay.to(TEAM)
        assert mail["Subject"] == "Your sign-in link for the CIB programme team's workspace"
        link = link_in(body_text(mail))

        landing = await browser.get(link)  # opening it (as a mail scanner would) uses nothing up
        assert landing.status == 200 and (await browser.get(link)).status == 200
        overview = await browser.submit(landing, link)
        assert overview.url.endswith("/team/") and "Overview" in overview.text and TEAM in overview.text
        cookie = browser.cookie("cib_team_session")
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]

    async with TeamBrowser(runtime) as other:  # the same link again, from anywhere
        again = await other.get(link)
        assert again.status == 410 and "used already" in again.text
        form = await other.get("/team/sign-in")
        reused = await other.post(link, {"csrf": form.csrf()})
        assert reused.status == 410 and other.cookie("cib_team_session") is None


async def test_a_link_expires_after_15_minutes(runtime, relay, clock):
    async with TeamBrowser(runtime) as browser:
        await browser.ask_for_link(TEAM)
        await runtime.delivery.flush()
        link = link_in(body_text(relay.to(TEAM)[-1]))
        landing = await browser.get(link)
        clock.set(clock() + timedelta(minutes=15, seconds=1))
        late = await browser.submit(landing, link)
        assert late.status == 410 and "expired" in late.text
        assert (await browser.get("/team/", follow=False)).status == 303


async def test_sign_in_attempts_are_limited(runtime, relay):
    async with TeamBrowser(runtime) as browser:
        # 5 links for an address from one client; past that the page says the same, and
        # nothing is sent. 20 requests from one client, whatever the address.
        answers = [(await browser.ask_for_link(TEAM)).status for _ in range(6)]
        assert answers == [200] * 6
        answers = [(await browser.ask_for_link(f"someone{n}@example.com")).status for n in range(15)]
        assert answers == [200] * 14 + [429]
        await runtime.delivery.flush()
        assert len(relay.to(TEAM)) == 5


async def test_forms_without_their_token_are_refused(runtime, relay):
    reference = await _unverified(runtime)
    async with TeamBrowser(runtime) as browser:
        # Before signing in: the form's token must match its cookie.
        assert (await browser.post("/team/sign-in", {"email": TEAM})).status == 403
        await browser.sign_in(runtime, relay)
        for token in ("", "forged"):
            page = await browser.post(f"/team/entries/{reference}/verify", {"csrf": token})
            assert page.status == 403 and "Nothing was changed" in page.text
    assert (await runtime.service.export())["submissions"][0]["verified"] is False


async def test_sign_out_ends_the_session(runtime, relay):
    async with TeamBrowser(runtime) as browser:
        overview = await browser.sign_in(runtime, relay)
        token = browser.cookie("cib_team_session").value
        out = await browser.submit(overview, "/team/sign-out")
        assert out.url.split("?")[0].endswith("/team/sign-in")
    async with TeamBrowser(runtime) as thief:  # the old cookie, replayed
        thief.session.cookie_jar.update_cookies({"cib_team_session": token})
        assert (await thief.get("/team/", follow=False)).status == 303


async def test_cookies_are_secure_behind_https(settings_factory, clock):
    runtime = create_service(settings_factory(web_url="https://intake.example.test"), clock=clock)
    await runtime.start(smtp=False, slack=False, scheduler=False)
    try:
        async with TeamBrowser(runtime) as browser:
            response = await browser.raw("/team/sign-in")
            assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    finally:
        await runtime.stop()


# --- the pages ----------------------------------------------------------------------------


async def test_an_entry_page_shows_fields_trail_message_and_replies(runtime, relay):
    reference = await _unverified(runtime)
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get(f"/team/entries/{reference}")
        assert page.status == 200
        text = page.text
        assert "Slough Borough Council" in text and "Sam Khan" in text and "Unverified" in text
        assert "Number of children's centres" in text and "9" in text
        assert "recorded" in text and "verified: no" in text  # the audit trail, in words
        assert "<script>alert('x')</script>" in text  # shown as text...
        assert "<script>" not in page.html  # ...never as markup
        assert "sam.khan@gmail.com" in text and "acknowledgement" in text  # the reply sent, by its kind in words
        assert (await browser.get("/team/entries/PBR-0999")).status == 404


async def test_attachments_are_listed_never_opened(runtime, relay):
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "officer@wigan.gov.uk", "eoi@cib.test", "PbR pathfinder"
    mail["Message-ID"] = "<att-1@wigan.gov.uk>"
    mail.set_content("Council: Wigan\nContact name: Alex Morgan\nContact role: Head of Service\n"
                     "Number of children's centres: 7\n")
    mail.add_attachment(b"PK\x03\x04 not really a document", maintype="application",
                        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                        filename="<b>eoi</b>.docx")
    await send(runtime, bytes(mail), mail_from="officer@wigan.gov.uk")
    await settle(runtime)
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get("/team/entries/PBR-0001")
        assert "<b>eoi</b>.docx" in page.text and "<b>eoi" not in page.html  # its name, escaped
        assert "wordprocessingml" in page.text and "26 bytes" in page.text
        assert "From officer@wigan.gov.uk by email" in page.text


async def test_the_list_filters_and_searches(runtime, relay):
    unverified = await _unverified(runtime)
    await submit(runtime, "pbr-pathfinder", "Wigan", sender="officer@wigan.gov.uk")
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        everything = await browser.get("/team/entries")
        assert "Showing 2 of 2" in everything.text
        only = await browser.get("/team/entries?verified=no")
        assert "Showing 1 of 2" in only.text and unverified in only.text
        found = await browser.get("/team/entries?q=wigan")
        assert "Showing 1 of 2" in found.text and "Wigan" in found.text and unverified not in found.text
        nothing = await browser.get("/team/entries?decision=accepted")
        assert "Nothing matches" in nothing.text


async def test_the_list_shows_nominations_beside_submissions(runtime, relay):
    await submit(runtime, "pbr-pathfinder", "Wigan", sender="officer@wigan.gov.uk")
    await nominate(runtime, "North West", {"Lead member": "Cllr Ann Jones, Wigan, ann.jones@wigan.gov.uk"},
                   sender="officer@wigan.gov.uk")
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        for path in ("/team/entries", "/team/entries?q=jones", "/team/entries?region=North+West",
                     "/team/entries?kind=nomination"):
            page = await browser.get(path)
            assert page.status == 200, (path, page.text[:300])
            assert "Ann Jones" in page.text and "Nomination: Lead member" in page.text, page.text
        assert "Showing 2 of 2" in (await browser.get("/team/entries")).text


async def test_the_overview_counts_places_regions_and_what_needs_a_person(runtime, relay):
    await _unverified(runtime)
    await _enquiry(runtime, "What counts as a children's centre for the pathfinder?")
    async with TeamBrowser(runtime) as browser:
        page = await browser.sign_in(runtime, relay)
        text = page.text
        assert "0 of 30 places accepted" in text
        assert "1 unverified entry to verify or reject" in text and "1 question to answer" in text
        assert "South East" in text and page.soup.find("svg") is not None


# --- the actions --------------------------------------------------------------------------


async def test_verify_from_the_page(runtime, relay):
    reference = await _unverified(runtime)
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        needs = await browser.get("/team/needs")
        assert reference in needs.text
        done = await browser.submit(needs, f"/team/entries/{reference}/verify?back=/team/needs%23unverified")
        assert f"{reference} is verified. The sender has been told." in done.text
        assert reference not in done.soup.find(id="unverified").get_text()
        again = await browser.get("/team/needs")
        assert "is verified" not in again.text  # said once
        trail = await browser.get(f"/team/entries/{reference}")
        assert "verified" in trail.text and TEAM in trail.text
    assert (await runtime.service.export())["submissions"][0]["verified"] is True
    await runtime.delivery.flush()
    told = relay.to("sam.khan@gmail.com")[-1]
    assert told["In-Reply-To"] == "<eoi-7@gmail.com>" and "it is confirmed, and it counts" in body_text(told)


async def test_reject_from_the_page_needs_a_reason(runtime, relay):
    reference = await _unverified(runtime)
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get(f"/team/entries/{reference}")
        empty = await browser.submit(page, f"/team/entries/{reference}/reject", reason=" ")
        assert "Say why" in empty.text
        done = await browser.submit(empty, f"/team/entries/{reference}/reject", reason="Not sent by the council.")
        assert f"{reference} is rejected" in done.text
    assert (await runtime.service.export())["submissions"][0]["status"] == "rejected"
    await runtime.delivery.flush()
    assert "Not sent by the council." in body_text(relay.to("sam.khan@gmail.com")[-1])


async def test_decide_from_the_page_within_the_places(runtime, relay):
    councils = [c for c in runtime.councils if c.email_domains][:31]
    for council in councils:
        await submit(runtime, "pbr-pathfinder", council.name, sender=f"officer@{council.email_domains[0]}")
    references = sorted(s["reference"] for s in (await runtime.service.export())["submissions"])
    for reference in references[:29]:
        assert (await runtime.team.decide(reference, "accept", actor="anna")).ok
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get(f"/team/entries/{references[29]}")
        done = await browser.submit(page, f"/team/entries/{references[29]}/decide", decision="accept",
                                    note="Welcome to the pathfinder.")
        assert f"{references[29]} is accepted (place 30 of 30)" in done.text
        page = await browser.get(f"/team/entries/{references[30]}")
        full = await browser.submit(page, f"/team/entries/{references[30]}/decide", decision="accept")
        assert "all 30 places for PbR pathfinder are taken" in full.text
        waiting = await browser.submit(full, f"/team/entries/{references[30]}/decide", decision="waitlist")
        assert "is waitlisted" in waiting.text
        overview = await browser.get("/team/")
        assert "30 of 30 places accepted" in overview.text

        decisions = await browser.raw("/team/decisions.csv")
        assert decisions.headers["Content-Disposition"] == 'attachment; filename="decisions.csv"'
        rows = list(csv.DictReader(io.StringIO(await decisions.text())))
        assert sum(1 for r in rows if r["decision"] == "accepted") == 30
        assert [r["decision"] for r in rows if r["reference"] == references[30]] == ["waitlisted"]
        book = load_workbook(io.BytesIO(await (await browser.raw("/team/decisions.xlsx")).read()))
        assert book.active.max_row == 32  # a header and 31 entries
    await runtime.delivery.flush()
    told = relay.to(f"officer@{councils[29].email_domains[0]}")[-1]
    assert "is accepted" in body_text(told) and "Welcome to the pathfinder." in body_text(told)
    # The 31st council was not told "there are 30 places" as if one were waiting for it.
    first_ack = body_text(relay.to(f"officer@{councils[0].email_domains[0]}")[0])
    last_ack = body_text(relay.to(f"officer@{councils[30].email_domains[0]}")[0])
    assert "There are 30 places for this offer." in first_ack
    assert "There are 30 places for this offer and, so far, 31 expressions of interest" in last_ack


async def test_answer_an_enquiry_from_the_page(runtime, relay):
    await _enquiry(runtime, "What counts as a children's centre?")
    await _enquiry(runtime, "Can we ring you about it?", sender="pat.doe@hull.gov.uk", number=2)
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        needs = await browser.get("/team/needs")
        forms = needs.soup.select("#enquiries form")
        answer_action = forms[0]["action"]
        handled_action = forms[3]["action"]
        empty = await browser.submit(needs, answer_action, answer="")
        assert "Write the answer first" in empty.text
        sent = await browser.submit(empty, answer_action, answer="A registered site offering early childhood services.")
        assert "The answer is on its way to the sender." in sent.text
        handled = await browser.submit(sent, handled_action)
        assert "Marked as handled" in handled.text
        assert "None." in handled.soup.find(id="enquiries").get_text()
        twice = await browser.submit(handled, answer_action, answer="Again")
        assert "already answered" in twice.text
    await runtime.delivery.flush()
    [answer] = [m for m in relay.to("jane.smith@camden.gov.uk") if "has answered" in body_text(m)]
    assert answer["In-Reply-To"] == "<q-1@camden.gov.uk>"
    assert "A registered site offering early childhood services." in body_text(answer)
    assert not [m for m in relay.to("pat.doe@hull.gov.uk") if "has answered" in body_text(m)]


async def test_appendix_a_page_and_downloads(runtime, relay):
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get("/team/appendix-a")
        assert "Appendix A" in page.text and "North East" in page.text
        listed = await browser.raw("/team/appendix-a.csv")
        assert (await listed.text()).startswith("Region,Role,Name,Council,Note")
        book = load_workbook(io.BytesIO(await (await browser.raw("/team/appendix-a.xlsx")).read()))
        assert [c.value for c in book.active[1]] == ["Region", "Role", "Name", "Council", "Note"]
        assert (await browser.get("/team/appendix-a.pdf")).status == 404


@pytest.mark.parametrize("path", ["/team/sign-in?next=//evil.test/", "/team/sign-in?next=https://evil.test/"])
async def test_sign_in_never_sends_you_elsewhere(runtime, relay, path):
    async with TeamBrowser(runtime) as browser:
        form = await browser.get(path)
        assert form.soup.find("input", attrs={"name": "next"})["value"] == "/team/"
