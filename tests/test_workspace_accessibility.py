"""The workspace as a person uses it: every page, after a realistic campaign has arrived
through the real service, has no axe-core violation at WCAG 2.2 AA and no Nu HTML
checker error, and scrolls sideways only inside its tables at 1280, 390 and 320 px. Over
HTTP: a refused form marks its field (GOV.UK's error summary and inline message), an
entry lists each detail once and its history in words, a nomination needs a person
once, no id repeats, and every error is a page in the workspace's layout."""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import update

from intake.models import InboundMessage, OutboundMessage
from intake.team import board
from tests.accessibility import axe_violations, chromium, describe, nu_errors, set_width
from tests.campaign_seed import nominate, submit
from tests.mailer import body_text, message, send, settle
from tests.team_browser import TEAM, Page, TeamBrowser, link_in

WIDTHS = (1280, 390, 320)
# Long enough to overflow a 320 px screen unless it wraps.
LONG_ADDRESS = "samantha.khan.head.of.early.help.and.family.services@gmail.com"

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


def _leads(*people: str) -> dict[str, str]:
    return dict(zip(("Lead member", "Lead chief executive", "Lead DCS"), people))


async def _unverified(runtime: Any, sender: str = LONG_ADDRESS) -> str:
    """An expression of interest from a personal address, not proven (no border server's stamp)."""
    body = ("Council: Slough Borough Council\nContact name: Sam Khan\nContact role: Head of Early Help\n"
            "Number of children's centres: 9")
    await send(runtime, message(body, sender=sender, subject="PbR pathfinder"), mail_from=sender, authenticated=False)
    await settle(runtime)
    return next(s["reference"] for s in (await runtime.service.export())["submissions"] if not s["verified"])


async def seed(runtime: Any, clock: Any) -> dict[str, Any]:
    """A campaign a few weeks in, through the real service: entries for the three offers
    (one unverified, decisions taken, a place accepted), two regions' nominations with all
    three roles (one not from the region), a question, an incomplete draft, two messages
    that could not be processed, a reply that was not delivered, a bounce, and late
    entries after the deadlines."""
    for offer, councils in {
        "pbr-pathfinder": ("Wigan", "Leeds", "Manchester"),
        "early-adopter": ("Hull", "York", "Sheffield"),
        "children-centres-support": ("Kirklees", "Barnsley"),
    }.items():
        for council in councils:
            await submit(runtime, offer, council, sender=f"officer@{council.lower()}.gov.uk")
    with_file = EmailMessage()
    with_file["From"], with_file["To"], with_file["Subject"] = "officer@calderdale.gov.uk", "eoi@cib.test", "Sure Start"
    with_file["Message-ID"] = "<ccs-file@calderdale.gov.uk>"
    with_file.set_content("Offer: Children's centres support\nCouncil: Calderdale\nContact name: Lee Ward\n"
                          "Contact role: Head of Early Years\nSupport needed: Sufficiency in rural wards\n")
    with_file.add_attachment(b"Our plan for the centres.\n", maintype="text", subtype="plain",
                             filename="centres plan.txt")
    await send(runtime, bytes(with_file), mail_from="officer@calderdale.gov.uk")
    unverified = await _unverified(runtime)
    await nominate(runtime, "North West", _leads("Cllr Ann Jones, Wigan, ann.jones@wigan.gov.uk",
                                                 "Pat Lee, Manchester, pat.lee@manchester.gov.uk",
                                                 "Kim Roe, Wigan, kim.roe@wigan.gov.uk"), sender="officer@wigan.gov.uk")
    # From a council outside the region: unverified, one nomination of three people.
    await nominate(runtime, "Yorkshire and The Humber", _leads("Cllr Bo Ray, Leeds, bo.ray@leeds.gov.uk",
                                                               "Al Fox, Hull, al.fox@hull.gov.uk",
                                                               "Cy Dee, York, cy.dee@york.gov.uk"),
                   sender="officer@slough.gov.uk")
    await send(runtime, message("What counts as a children's centre for the pathfinder?", subject="A question",
                                message_id="<q-1@camden.gov.uk>"))
    await send(runtime, message("Council: Camden\nContact name: Jane Smith", subject="Payment by Results pathfinder"))
    for number in (1, 2):
        await send(runtime, message(f"Something we could not process ({number})", subject="Hello",
                                    message_id=f"<f-{number}@camden.gov.uk>"))
    await send(runtime, BOUNCE, mail_from="")
    await settle(runtime)
    async with runtime.store.unit() as unit:  # as if processing had failed on them, and a reply had bounced
        await unit.session.execute(
            update(InboundMessage).where(InboundMessage.external_id.in_(["<f-1@camden.gov.uk>", "<f-2@camden.gov.uk>"]))
            .values(status="failed", classification="failed"))
        await unit.session.execute(
            update(OutboundMessage).where(OutboundMessage.recipient == "officer@sheffield.gov.uk")
            .values(status="failed", error="550 5.1.1 no such user"))
    exported = await runtime.service.export()
    by_council = {s["council"].split()[0]: s["reference"] for s in exported["submissions"]}
    assert (await runtime.team.decide(by_council["Wigan"], "accept", actor=TEAM)).ok
    assert (await runtime.team.decide(by_council["Leeds"], "waitlist", actor=TEAM, note="We will write.")).ok
    assert (await runtime.team.decide(by_council["Hull"], "decline", actor=TEAM)).ok

    clock.set("2027-06-02T10:00:00+01:00")  # after the PbR, CCS and regional leads deadlines
    await submit(runtime, "pbr-pathfinder", "Bristol", sender="officer@bristol.gov.uk")
    await nominate(runtime, "South West", _leads("Cllr Di Moss, Bristol, di.moss@bristol.gov.uk",
                                                 "Ed Hart, Bristol, ed.hart@bristol.gov.uk",
                                                 "Flo Bell, Bristol, flo.bell@bristol.gov.uk"),
                   sender="officer@bristol.gov.uk")
    await settle(runtime)
    exported = await runtime.service.export()
    references = sorted({s["reference"] for s in exported["submissions"]} | {n["reference"] for n in exported["nominations"]})
    late = {n["reference"] for n in exported["nominations"] if n["late"]}
    unverified_nomination = next(n["reference"] for n in exported["nominations"] if not n["verified"])
    return {"references": references, "unverified": unverified, "accepted": by_council["Wigan"],
            "unverified_nomination": unverified_nomination, "late_nomination": late.pop()}


def duplicate_ids(html: str) -> list[str]:
    counted = Counter(str(tag["id"]) for tag in BeautifulSoup(html, "html.parser").find_all(id=True))
    return sorted(key for key, count in counted.items() if count > 1)


def workspace_paths(seeded: dict[str, Any]) -> dict[str, str]:
    """Every page a signed-in member can open: name -> path."""
    paths = {
        "overview": "/team/", "needs a person": "/team/needs", "appendix A": "/team/appendix-a",
        "entries": "/team/entries", "entries, unverified": "/team/entries?verified=no",
        "entries, nominations in the North West": "/team/entries?kind=nomination&region=North+West",
        "entries, accepted PbR": "/team/entries?offer=pbr-pathfinder&decision=accepted",
        "entries, nothing matches": "/team/entries?q=nobody-at-all",
        "an unknown address (404)": "/team/nowhere", "an unknown reference (404)": "/team/entries/PBR-0999",
        "a form's address opened (405)": "/team/sign-out",
    }
    paths.update({f"entry {reference}": f"/team/entries/{reference}" for reference in seeded["references"]})
    return paths


# --- every page, in a browser and through the Nu checker ------------------------------------

_SCROLLING = """
const sideways = [];
for (const element of document.querySelectorAll('body *')) {
  const overflow = getComputedStyle(element).overflowX;
  if ((overflow === 'auto' || overflow === 'scroll') && element.scrollWidth > element.clientWidth
      && !element.classList.contains('table-wrap')) {
    sideways.push(element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') + '.' + element.className);
  }
}
return {document: document.documentElement.scrollWidth, viewport: window.innerWidth,
        client: document.documentElement.clientWidth, others: sideways};
"""


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = chromium(javascript=True)  # for axe-core; the pages have no scripts of their own
    try:
        yield driver
    finally:
        driver.quit()


async def test_every_page_has_no_axe_violation_nor_nu_error_and_scrolls_only_in_its_tables(
        runtime, relay, clock, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    seeded = await seed(runtime, clock)
    driver = browser
    base = f"http://127.0.0.1:{runtime.http_port}"
    problems: dict[str, list[str]] = {}
    checked: list[str] = []

    def check(name: str) -> None:
        """The current page at each width: axe-core, and nothing but tables wider than the screen."""
        checked.append(name)
        for width in WIDTHS:
            set_width(driver, width)
            found = driver.execute_script(_SCROLLING)
            if found["document"] > found["client"] or found["document"] > found["viewport"]:
                problems.setdefault(name, []).append(
                    f"at {width} px the page scrolls sideways: {found['document']} px wide in {found['client']} px")
            if found["others"]:
                problems.setdefault(name, []).append(f"at {width} px, not a table, scrolling: {found['others']}")
            violations = axe_violations(driver)
            if violations:
                problems.setdefault(name, []).append(f"at {width} px, axe-core:\n{describe(violations)}")
        set_width(driver, 1280)

    def focused(css: str) -> bool:
        return driver.switch_to.active_element == driver.find_element(By.CSS_SELECTOR, css)

    def press(button: Any) -> None:
        """Press a form's button and wait for the page it leads to (a new document: a new window object)."""
        driver.execute_script("window.pressed = true")
        button.click()
        WebDriverWait(driver, 15).until(
            lambda _: driver.execute_script("return !window.pressed && document.readyState === 'complete'"))

    def signing_in() -> None:
        driver.get(base + "/team/")
        check("sign in")
        field = driver.find_element(By.ID, "email")
        field.send_keys("not an address")
        press(driver.find_element(By.XPATH, "//button[normalize-space()='Email me a sign-in link']"))
        assert focused(".error-summary"), "the error summary is not focused after the form was refused"
        assert driver.title.startswith("Error: ")
        check("sign in, the address refused")
        field = driver.find_element(By.ID, "email")
        field.clear()
        field.send_keys(TEAM)
        press(driver.find_element(By.XPATH, "//button[normalize-space()='Email me a sign-in link']"))
        check("check your email")

    await asyncio.to_thread(signing_in)
    await runtime.delivery.flush()
    link = link_in(body_text(relay.to(TEAM)[-1]))

    def pages() -> None:
        driver.get(link)
        check("the sign-in link")
        press(driver.find_element(By.XPATH, "//button[normalize-space()='Sign in']"))
        assert focused(".banner"), "the banner is not focused after signing in"
        check("signed in")
        for name, path in workspace_paths(seeded).items():
            driver.get(base + path)
            check(name)

        # Rejecting without a reason: the form again, its error summary focused and linked to the field.
        driver.get(base + f"/team/entries/{seeded['unverified']}")
        press(driver.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Reject')]"))
        assert focused(".error-summary"), "the error summary is not focused after a refused action"
        check("reject without a reason")
        driver.find_element(By.CSS_SELECTOR, ".error-summary a").click()
        assert focused("#reason"), "the error summary's link does not lead to the field"

        # An action done: the result banner is focused on the page it leads to.
        driver.get(base + "/team/needs")
        row = driver.find_element(By.XPATH, f"//section[@id='unverified']//tr[td/a[text()='{seeded['unverified_nomination']}']]")
        press(row.find_element(By.XPATH, ".//button[starts-with(normalize-space(), 'Verify')]"))
        assert focused(".banner"), "the result banner is not focused after an action"
        check("needs a person, after an action")

        # A form whose token is wrong (an old tab, a forged post): the refusal is a page too.
        driver.get(base + "/team/needs")
        driver.execute_script("document.querySelectorAll('input[name=csrf]').forEach(f => f.value = 'stale')")
        press(driver.find_element(By.XPATH, "//section[@id='late']//button[starts-with(normalize-space(), 'Accept')]"))
        assert "This form has expired" in driver.find_element(By.TAG_NAME, "h1").text
        check("a form refused (403)")

        press(driver.find_element(By.XPATH, "//button[normalize-space()='Sign out']"))
        assert focused(".banner"), "the banner is not focused after signing out"
        check("signed out")
        driver.get(link)
        check("a used sign-in link")

    await asyncio.to_thread(pages)
    assert not problems, "\n\n".join(f"== {name}\n" + "\n".join(found) for name, found in problems.items())

    # The same pages as served, through the Nu HTML checker in one run.
    documents: dict[str, str] = {}
    async with TeamBrowser(runtime) as team:
        documents["sign in"] = (await team.get("/team/sign-in")).html
        documents["sign in, the address refused"] = (await team.ask_for_link("not an address")).html
        documents["signed out"] = (await team.get("/team/sign-in?signed_out=1")).html
        documents["a used sign-in link"] = (await team.get(link)).html
        documents["check your email"] = (await team.ask_for_link("someone@example.com")).html
        documents["signed in"] = (await team.sign_in(runtime, relay)).html
        for name, path in workspace_paths(seeded).items():
            documents[name] = (await team.get(path)).html
        entry = await team.get(f"/team/entries/{seeded['unverified']}")
        documents["reject without a reason"] = (
            await team.submit(entry, f"/team/entries/{seeded['unverified']}/reject", reason="")).html
        documents["decide without a decision"] = (
            await team.submit(entry, f"/team/entries/{seeded['unverified']}/decide", note="Hello")).html
        needs = await team.get("/team/needs")
        answer = needs.soup.select("#enquiries form")[0]["action"]
        documents["answer left empty"] = (await team.submit(needs, answer, answer=" ")).html
        documents["needs a person, after an action"] = (await team.submit(needs, answer, answer="Any site.")).html
        documents["a form refused (403)"] = (await team.post(answer, {"csrf": "stale", "answer": "x"})).html
    errors = await asyncio.to_thread(nu_errors, documents)
    found = {name: lines for name, lines in errors.items() if lines}
    assert not found, "\n".join(f"== {name}\n  " + "\n  ".join(lines) for name, lines in found.items())
    for name, html in documents.items():
        assert not duplicate_ids(html), (name, duplicate_ids(html))
    assert len(checked) >= 30 and set(checked) <= set(documents) | {"the sign-in link"}, checked


# --- over HTTP ------------------------------------------------------------------------------


def _error_summary(page: Page) -> dict[str, str]:
    summary = page.soup.select_one(".error-summary")
    assert summary is not None, "no error summary on " + page.url
    assert summary.has_attr("autofocus") and summary["tabindex"] == "-1"
    return {a["href"]: a.get_text(" ", strip=True) for a in summary.find_all("a")}


def _marked(page: Page, field_id: str) -> str:
    """The inline message of a field marked as GOV.UK marks one, which must link to it."""
    field = page.soup.find(id=field_id)
    assert field is not None, f"no #{field_id}"
    assert field.get("aria-invalid") == "true", field
    described = page.soup.find(id=field["aria-describedby"])
    assert described is not None and "error-message" in described["class"]
    return described.get_text(" ", strip=True)


async def test_rejecting_without_a_reason_marks_the_field(runtime, relay):
    reference = await _unverified(runtime)
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get(f"/team/entries/{reference}")
        refused = await browser.submit(page, f"/team/entries/{reference}/reject", reason="  ")
        assert refused.status == 400 and refused.soup.title.get_text().startswith("Error: ")
        assert list(_error_summary(refused)) == ["#reason"]
        assert _marked(refused, "reason") == "Error: " + _error_summary(refused)["#reason"]
        assert "Say why" in _marked(refused, "reason")
        assert refused.soup.find(class_="banner") is None  # one thing has focus: the summary

        undecided = await browser.submit(page, f"/team/entries/{reference}/decide", note="Kept as typed")
        assert undecided.status == 400 and list(_error_summary(undecided)) == ["#decision-accept"]
        assert undecided.soup.find(id="note").get_text() == "Kept as typed"
        fieldset = undecided.soup.find("fieldset")
        assert fieldset["aria-describedby"] == "decision-accept-error" and undecided.soup.find(id="decision-accept-error")

        await send(runtime, message("What counts as a children's centre?", subject="A question"))
        await settle(runtime)
        needs = await browser.get("/team/needs")
        action = needs.soup.select("#enquiries form")[0]["action"]
        field = "answer-" + action.split("/")[3]
        empty = await browser.submit(needs, action, answer="")
        assert empty.status == 400 and list(_error_summary(empty)) == [f"#{field}"]
        assert "Write the answer first" in _marked(empty, field)
    exported = await runtime.service.export()
    assert exported["submissions"][0]["status"] == "active" and not exported["submissions"][0]["decision"]


async def test_the_page_after_an_action_focuses_what_it_did(runtime, relay):
    reference = await _unverified(runtime)
    async with TeamBrowser(runtime) as browser:
        signed_in = await browser.sign_in(runtime, relay)
        assert "You are signed in as team@local.gov.uk." in signed_in.soup.select_one(".banner[autofocus]").get_text()
        needs = await browser.get("/team/needs")
        done = await browser.submit(needs, f"/team/entries/{reference}/verify?back=/team/needs%23unverified")
        # No fragment in the address: a browser scrolling to one skips autofocus. The banner links there.
        assert done.url.endswith("/team/needs")
        banner = done.soup.select_one(".banner")
        assert banner.has_attr("autofocus") and banner["tabindex"] == "-1" and "is verified" in banner.get_text()
        assert banner.find("a", href="#unverified").get_text() == "Go to the unverified entries"
        assert len(done.soup.select("[autofocus]")) == 1
        out = await browser.submit(done, "/team/sign-out")
        assert out.soup.select_one(".banner[autofocus]").get_text(" ", strip=True).endswith("You have signed out.")


async def test_an_entry_page_lists_each_detail_once(runtime, relay):
    reference = await _unverified(runtime)
    await nominate(runtime, "North West", _leads("Cllr Ann Jones, Wigan, ann.jones@wigan.gov.uk",
                                                 "Pat Lee, Manchester, pat.lee@manchester.gov.uk",
                                                 "Kim Roe, Wigan, kim.roe@wigan.gov.uk"), sender="officer@wigan.gov.uk")
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get(f"/team/entries/{reference}")
        details = page.soup.select_one("dl.summary")
        labels = [dt.get_text(strip=True) for dt in details.find_all("dt")]
        values = [dd.get_text(strip=True) for dd in details.find_all("dd")]
        assert sorted(labels) == sorted(set(labels)), labels
        assert labels.count("Council") == 1 and "Contact" not in labels and "Region" in labels
        assert [v for v in values if "Slough Borough Council" in v] == ["Slough Borough Council"]
        assert [v for v in values if "Sam Khan" in v] == ["Sam Khan"]
        assert [v for v in values if LONG_ADDRESS in v] == [LONG_ADDRESS, f"{LONG_ADDRESS} by email"]

        nomination = await browser.get("/team/entries/RL-0001")
        labels = [dt.get_text(strip=True) for dt in nomination.soup.select("dl.summary dt")]
        assert labels[:4] == ["Region", "Lead member", "Lead chief executive", "Lead director of children's services"]
        assert "lead-member" not in nomination.text and sorted(labels) == sorted(set(labels))


async def test_the_audit_trail_and_the_replies_read_as_words(runtime, relay):
    reference = await _unverified(runtime)
    await nominate(runtime, "North West", _leads("Cllr Ann Jones, Wigan, ann.jones@wigan.gov.uk"),
                   sender="officer@wigan.gov.uk")
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get(f"/team/entries/{reference}")
        done = await browser.submit(page, f"/team/entries/{reference}/verify")
        for path in (f"/team/entries/{reference}", "/team/entries/RL-0001"):
            page = await browser.get(path)
            trail = page.soup.select_one("#trail-title").find_next("table").get_text(" ", strip=True)
            replies = page.soup.select_one("#replies-title").find_next("table").get_text(" ", strip=True)
            for raw in ("False", "True", "None", "lead-member", "reply-", "_", "created"):
                assert raw not in trail and raw not in replies, (path, raw, trail, replies)
            assert "acknowledgement" in replies
        trail = done.soup.select_one("#trail-title").find_next("table").get_text(" ", strip=True)
        assert "recorded" in trail and "late: no; verified: no" in trail and "by: the CIB team" in trail
        assert "role: Lead member" in (await browser.get("/team/entries/RL-0001")).text


async def test_a_nomination_needs_a_person_once(runtime, relay, clock):
    clock.set("2027-06-02T10:00:00+01:00")  # late, and from a council outside the region: unverified
    await nominate(runtime, "Yorkshire and The Humber", _leads("Cllr Bo Ray, Leeds, bo.ray@leeds.gov.uk",
                                                               "Al Fox, Hull, al.fox@hull.gov.uk",
                                                               "Cy Dee, York, cy.dee@york.gov.uk"),
                   sender="officer@slough.gov.uk")
    async with TeamBrowser(runtime) as browser:
        overview = await browser.sign_in(runtime, relay)
        assert "1 unverified entry to verify or reject" in overview.text and "1 late entry" in overview.text
        needs = await browser.get("/team/needs")
        for section in ("unverified", "late"):
            rows = needs.soup.select(f"#{section} tbody tr")
            assert len(rows) == 1, (section, [r.get_text(" ", strip=True) for r in rows])
            text = rows[0].get_text(" ", strip=True)
            assert "RL-0001" in text and "Lead member, Lead chief executive" in text and "Cy Dee" in text
        done = await browser.submit(needs, "/team/entries/RL-0001/reject?back=/team/needs%23late",
                                    reason="It arrived after the deadline.")
        assert "None." in done.soup.find(id="late").get_text()  # a rejected nomination needs nobody


async def test_no_id_repeats_on_any_page(runtime, relay, clock):
    seeded = await seed(runtime, clock)
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        needs = await browser.get("/team/needs")
        assert len(needs.soup.select("#stuck article")) == 2  # two messages that could not be processed
        for name, path in workspace_paths(seeded).items():
            page = await browser.get(path)
            assert not duplicate_ids(page.html), (name, duplicate_ids(page.html))
        for path in ("/team/sign-in", "/team/nowhere"):
            async with TeamBrowser(runtime) as stranger:
                assert not duplicate_ids((await stranger.get(path)).html)


def _in_the_layout(page: Page, title: str) -> None:
    soup = page.soup
    assert soup.html["lang"] == "en-GB" and soup.title.get_text().startswith(title), soup.title
    assert soup.find("main", id="main") and soup.h1.get_text(strip=True) == title
    assert soup.select_one("header nav a[href='/team/']"), "no way back to the workspace"


async def test_errors_are_pages_in_the_workspace_layout(runtime, relay, monkeypatch):
    async with TeamBrowser(runtime) as browser:
        stranger = await browser.get("/team/nowhere", follow=False)
        assert stranger.status == 303  # nothing is said, even "not found", before signing in
        await browser.sign_in(runtime, relay)
        for path, status, title in (("/team/nowhere", 404, "Page not found"),
                                    ("/team/sign-out", 405, "This address is not a page"),
                                    ("/team/entries/PBR-0999", 404, "Not found")):
            response = await browser.raw(path)
            page = await browser.get(path)
            assert page.status == status and response.content_type == "text/html", (path, page.html[:200])
            assert "Content-Security-Policy" in response.headers
            _in_the_layout(page, title)
        assert (await browser.raw("/team/sign-out")).headers["Allow"] == "POST"
        form = await browser.get("/team/needs")
        no_such = await browser.post("/team/enquiries/not-a-number/answer", {"csrf": form.csrf(), "answer": "x"})
        assert no_such.status == 404
        _in_the_layout(no_such, "Page not found")

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("the database went away: secret detail")

        monkeypatch.setattr(board, "needs", broken)
        failed = await browser.get("/team/needs")
        assert failed.status == 500 and "secret detail" not in failed.html
        _in_the_layout(failed, "Sorry, there is a problem with the workspace")
