"""The team's pages read what they show: the overview and the digest count the day's
messages without loading the messages themselves, and the decisions download reads the
entries in play, not every nomination, question and message. Checked on the statements the
database is sent while each page is served, with a campaign's worth of mail kept."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tests.campaign_seed import nominate, receive, submit
from tests.team_browser import TeamBrowser


@contextmanager
def statements(runtime) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(" ".join(statement.lower().split()))

    engine = runtime.store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _campaign(runtime) -> None:
    councils = [c for c in runtime.councils if c.email_domains][:12]
    for index, council in enumerate(councils):
        offer = ("pbr-pathfinder", "early-adopter", "children-centres-support")[index % 3]
        await submit(runtime, offer, council.name, sender=f"officer@{council.email_domains[0]}")
    await nominate(runtime, "London", {"Lead member": "Cllr Ann Jones, Camden, ann.jones@camden.gov.uk"},
                   sender="dcs@camden.gov.uk")
    await receive(runtime, "When is the deadline for the PbR pathfinder?", sender="pa@leeds.gov.uk", subject="Deadline")
    await receive(runtime, "Can we talk about the programme?", sender="officer@york.gov.uk", subject="A question")


async def _served(runtime, relay, path: str):
    """`path` served to a signed-in team member after a campaign's worth of mail: the page
    and the SELECTs the database was sent for it."""
    await _campaign(runtime)
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        with statements(runtime) as sent:
            page = await browser.get(path)
    return page, [s for s in sent if s.startswith("select")]


def _reading_raw(sent: list[str]) -> list[str]:
    return [s for s in sent if "inbound_messages.raw" in s]


async def test_the_overview_counts_the_days_messages_without_loading_them(runtime, relay):
    page, sent = await _served(runtime, relay, "/team/")
    assert page.status == 200 and "12" in page.text
    # Each table of entries once, though the figures and the counts of "needs a person" both use them.
    for table in ("submissions", "nominations"):
        assert len([s for s in sent if f" from {table}" in s]) == 1, table
    # Only bounces are read whole (their addresses are in the report); none here.
    assert [s for s in _reading_raw(sent) if "where" not in s or "classification =" not in s.split("where", 1)[1]] == []


async def test_the_decisions_download_reads_only_the_entries_in_play(runtime, relay):
    csv, sent = await _served(runtime, relay, "/team/decisions.csv")
    assert csv.status == 200 and len(csv.html.splitlines()) == 13  # the header and 12 entries
    touched = " ".join(sent)
    for table in ("nominations", "enquiries", "inbound_messages"):
        assert f"from {table}" not in touched, table


async def test_the_list_of_entries_reads_no_questions_and_no_messages(runtime, relay):
    page, sent = await _served(runtime, relay, "/team/entries?offer=pbr-pathfinder")
    assert page.status == 200 and len(page.soup.select("tbody tr")) == 4
    touched = " ".join(sent)
    for table in ("enquiries", "inbound_messages"):
        assert f"from {table}" not in touched, table
