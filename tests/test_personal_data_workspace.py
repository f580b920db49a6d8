"""A person's data from the team's workspace, as a team member's browser does it: from an
entry to the people it names, a subject-access download, an erasure refused without a
reason (GOV.UK's error summary) and then made, audited under the member's address; the
entry afterwards shown as erased and still counted."""
from __future__ import annotations

import asyncio
import io
import json
import zipfile

from tests.accessibility import nu_errors
from tests.mailer import settle
from tests.personal_data_support import (
    Person,
    every_value,
    submission,
    traces_in_rows,
    write_in,
)
from tests.team_browser import TEAM, TeamBrowser
from tests.test_workspace_accessibility import duplicate_ids

ALI = Person("ali.khan@bury.gov.uk", "Ali Khan", "0161 496 0777", "Bury Metropolitan Borough Council")
JANE = Person("jane.smith@camden.gov.uk", "Jane Smith", "020 7946 0888", "London Borough of Camden")


async def _entries(runtime) -> None:
    for person in (ALI, JANE):
        await write_in(runtime, person, submission(person))
        await settle(runtime)


def _summary_links(page) -> dict[str, str]:
    summary = page.soup.select_one(".error-summary")
    assert summary is not None and summary.has_attr("autofocus"), "no focused error summary"
    return {a["href"]: a.get_text(" ", strip=True) for a in summary.find_all("a")}


async def test_the_pages_are_valid_html_with_no_repeated_id(runtime, relay):
    await _entries(runtime)
    documents = {}
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get("/team/entries/PBR-0001/personal-data")
        documents["people"] = page.html
        documents["erase without a reason"] = (await browser.submit(
            page, "/team/personal-data/erase", reference="PBR-0001", address=ALI.address, reason="")).html
        documents["entry, erased"] = (await browser.submit(
            page, "/team/personal-data/erase", reference="PBR-0001", address=ALI.address, reason="asked")).html
        documents["people, erased"] = (await browser.get("/team/entries/PBR-0001/personal-data")).html
    errors = await asyncio.to_thread(nu_errors, documents)
    assert not {name: found for name, found in errors.items() if found}
    assert not {name: duplicate_ids(html) for name, html in documents.items() if duplicate_ids(html)}


async def test_a_team_member_downloads_then_erases_a_persons_data_from_their_entry(runtime, relay):
    await _entries(runtime)
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        entry = await browser.get("/team/entries/PBR-0001")
        link = entry.soup.find("a", href="/team/entries/PBR-0001/personal-data")
        assert link is not None and "Erased" not in entry.text
        page = await browser.get(link["href"])
        assert page.status == 200 and ALI.address in page.text and "Ali Khan" in page.text
        assert "01614960777" in page.text and JANE.address not in page.text

        download = await browser.session.post(
            browser.base + "/team/personal-data/export",
            data={"csrf": page.csrf(), "reference": "PBR-0001", "address": ALI.address})
        content = await download.read()
        assert download.status == 200 and download.headers["Content-Type"] == "application/zip"
        assert "personal-data-PBR-0001.zip" in download.headers["Content-Disposition"]
        summary = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("summary.json"))
        assert summary["about"]["address"] == ALI.address

        refused = await browser.submit(page, "/team/personal-data/erase", reference="PBR-0001",
                                       address=ALI.address, reason="  ")
        assert refused.status == 400 and refused.soup.title.get_text().startswith("Error: ")
        assert list(_summary_links(refused)) == ["#reason-1"]
        field = refused.soup.find(id="reason-1")
        assert field["aria-invalid"] == "true" and refused.soup.find(id=field["aria-describedby"])
        assert "Ali Khan" in (await runtime.service.export())["submissions"][0]["contact_name"]

        stale = await browser.post("/team/personal-data/erase", {"csrf": "stale", "reference": "PBR-0001",
                                                                 "address": ALI.address, "reason": "x"})
        assert stale.status == 403
        elsewhere = await browser.submit(page, "/team/personal-data/erase", reference="PBR-0001",
                                         address=JANE.address, reason="not on this entry")
        assert elsewhere.status == 404

        done = await browser.submit(page, "/team/personal-data/erase", reference="PBR-0001",
                                    address=ALI.address, reason="Asked to be forgotten")
        assert done.status == 200 and done.url.endswith("/team/entries/PBR-0001")
        assert "The person's data is erased" in done.soup.select_one(".banner").get_text()
        assert done.soup.find("strong", string="Erased") is not None
        assert "erased" in done.soup.find(id="trail-title").find_next("table").get_text()
        after = await browser.get("/team/entries/PBR-0001/personal-data")
        assert "names no one any more" in after.text

    assert traces_in_rows(await every_value(runtime), ALI) == []
    exported = await runtime.service.export()
    assert [s["contact_name"] for s in exported["submissions"]] == ["[erased]", "Jane Smith"]
    async with runtime.store.reader() as unit:
        trail = await unit.audit.trail()
    assert {(a.action, a.entity, a.actor) for a in trail if a.action in ("erased", "exported")} == {
        ("exported", "person", TEAM), ("erased", "person", TEAM), ("erased", "submission", TEAM)}
