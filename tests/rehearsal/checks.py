"""What must hold after every simulated day of a campaign: the workspace whole (every page,
link, filter, search and download), and the invariants users rely on: every kept message
processed, every person answered exactly once, no reply twice, never more accepted than
the places, the same counts in the digest, the overview and the export, and an audit
trail that agrees with what is stored."""
from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from intake.models import AuditEntry, InboundMessage, OutboundMessage
from tests.rehearsal.crawl import Crawl, crawl

if TYPE_CHECKING:
    from tests.rehearsal.driver import Rehearsal

DONE = {"processed", "held", "ignored"}  # what a kept message may be once the day is over


async def check_day(rehearsal: Rehearsal, day: date, quiet: bool = False) -> Crawl:
    """Everything, or on a quiet day (nothing arrived, nothing done) the pages that show
    the time and the invariants."""
    data = await rehearsal.runtime.service.export()
    searches = search_terms(data)
    found = await crawl(rehearsal.team.browser, searches=searches, only=("/team/", "/team/needs") if quiet else None,
                        personal_pages=1 if day.weekday() == 4 else 0)  # a person's data page once a week
    rehearsal.log.pages += len(found.pages) + len(found.downloads)
    rehearsal.crawls.append(found)
    assert not found.failures, f"{day}: " + "\n".join(found.failures[:20])
    if not quiet:
        check_downloads(found, data, day)
    check_overview(found, data, rehearsal, day)
    await check_messages(rehearsal, day)
    check_places(data, rehearsal, day)
    await check_audit(rehearsal, data, day)
    if rehearsal.team.slack is not None:
        api = rehearsal.team.slack[0]
        assert api.refused == [], f"{day}: Slack would refuse {api.refused[:3]}"
    return found


def search_terms(data: dict[str, Any]) -> list[str]:
    """Searches a person would type: a reference, a council, a nominee, a region, an
    address, a name with a letter outside ASCII, markup, and nothing found."""
    terms = ["PBR-0001", "gmail", "london", "Sørensen", "<script>alert(1)</script>", "zzz-nothing"]
    if data["submissions"]:
        terms += [data["submissions"][0]["council"], data["submissions"][-1]["contact_email"]]
    if data["nominations"]:
        terms += [data["nominations"][0]["name"], data["nominations"][-1]["region"]]
    return terms


def check_downloads(found: Crawl, data: dict[str, Any], day: date) -> None:
    csv_rows = next((rows for url, rows in found.downloads.items() if url.endswith("decisions.csv")), None)
    assert csv_rows is not None, f"{day}: no decisions.csv reachable from the overview"
    active = {s["reference"] for s in data["submissions"] if s["status"] == "active"}
    assert [r["reference"] for r in csv_rows if r["reference"] in active] == [r["reference"] for r in csv_rows]
    assert {r["reference"] for r in csv_rows} == active, (day, len(csv_rows), len(active))
    sheets = next((book for url, book in found.downloads.items() if url.endswith("decisions.xlsx")), None)
    assert sheets is not None, f"{day}: no decisions.xlsx reachable from the overview"
    [table] = list(sheets.values())
    assert len(table) - 1 == len(active), (day, len(table) - 1, len(active))
    appendix = next((rows for url, rows in found.downloads.items() if url.endswith("appendix-a.csv")), None)
    assert appendix is not None, f"{day}: no Appendix A CSV reachable"
    assert len(appendix) >= len({n["region"] for n in data["nominations"]}), day


def offer_counts(data: dict[str, Any]) -> Counter[str]:
    return Counter(s["offer"] for s in data["submissions"] if s["status"] == "active")


def check_overview(found: Crawl, data: dict[str, Any], rehearsal: Rehearsal, day: date) -> None:
    """The overview's "Received" and the latest digest's figure per offer are the export's
    count of active submissions."""
    overview = next(html for url, html in found.pages.items() if url.rstrip("/").endswith("/team"))
    counts = offer_counts(data)
    for offer in rehearsal.campaign.offers:
        row = re.search(r"entries\?offer=" + re.escape(offer.key) + r'[^>]*>[^<]*</a></th>\s*<td class="num">(\d+)',
                        overview)
        assert row is not None, f"{day}: the overview has no row for {offer.key}"
        assert int(row.group(1)) == counts[offer.key], (day, offer.key, row.group(1), counts[offer.key])
    digests = [m for m in rehearsal.relay.to("team@local.gov.uk") if "digest" in str(m["Subject"]).lower()]
    if digests and rehearsal.digest_counts:
        text = digests[-1].get_body(("plain",)).get_content()
        for offer in rehearsal.campaign.offers:
            figure = re.search(re.escape(offer.short_title) + r": (\d+)", text)
            assert figure is not None, f"{day}: the digest has no figure for {offer.short_title}"
            assert int(figure.group(1)) == rehearsal.digest_counts[offer.key], (
                day, offer.key, figure.group(1), rehearsal.digest_counts[offer.key])


async def check_messages(rehearsal: Rehearsal, day: date) -> None:
    """Every kept message processed; every person's message answered exactly once, unless
    it is automatic or its answer was deliberately withheld; nothing delivered twice."""
    async with rehearsal.runtime.store.engine.connect() as connection:
        inbound = (await connection.execute(select(
            InboundMessage.id, InboundMessage.status, InboundMessage.classification, InboundMessage.detail,
            InboundMessage.sender, InboundMessage.channel))).all()
        outbound = (await connection.execute(select(
            OutboundMessage.id, OutboundMessage.send_key, OutboundMessage.status, OutboundMessage.inbound_id,
            OutboundMessage.channel, OutboundMessage.kind, OutboundMessage.recipient))).all()
    stuck = [(m.id, m.status, m.classification, m.detail) for m in inbound if m.status not in DONE]
    assert not stuck, f"{day}: kept but not processed: {stuck[:10]}"
    answers: dict[int, list[Any]] = {}
    for row in outbound:
        if row.send_key and row.send_key.startswith("reply:") and row.inbound_id is not None:
            answers.setdefault(row.inbound_id, []).append(row)
    for message in inbound:
        if message.status == "ignored" or message.classification == "automatic":
            assert message.id not in answers, f"{day}: automatic message {message.id} was answered"
            continue
        if message.detail and "rate" in message.detail:
            continue
        mine = answers.get(message.id, [])
        assert mine, f"{day}: message {message.id} ({message.classification}, {message.sender}) got no answer"
        kinds = Counter(row.send_key.rsplit(":", 1)[0] if row.send_key.count(":") > 2 else row.send_key
                        for row in mine)
        assert all(n == 1 for n in kinds.values()), (day, message.id, kinds)
        unsent = [(row.id, row.status) for row in mine if row.status != "sent"]
        assert not unsent, f"{day}: answers to {message.id} not sent: {unsent}"
    ids = [str(m["Message-ID"]) for m in rehearsal.relay.messages]
    twice = [i for i, n in Counter(ids).items() if n > 1]
    assert not twice, f"{day}: delivered twice: {twice[:5]}"
    if rehearsal.team.slack is not None:
        api = rehearsal.team.slack[0]
        posted = Counter(json.dumps([c.args.get("channel"), c.args.get("text"), c.args.get("thread_ts")])
                         for c in api.calls_to("chat.postMessage") if c.args.get("channel", "").startswith("D"))
        assert all(n == 1 for n in posted.values()), (day, [k for k, n in posted.items() if n > 1][:3])


def check_places(data: dict[str, Any], rehearsal: Rehearsal, day: date) -> None:
    for offer in rehearsal.campaign.offers:
        accepted = [s for s in data["submissions"] if s["offer"] == offer.key and s["decision"] == "accepted"]
        if offer.capacity is not None:
            assert len(accepted) <= offer.capacity, (day, offer.key, len(accepted))
            places = [s["place"] for s in accepted]
            assert len(set(places)) == len(places) and all(1 <= p <= offer.capacity for p in places), places


async def check_audit(rehearsal: Rehearsal, data: dict[str, Any], day: date) -> None:
    """Replaying each submission's audit trail (created, then each change) gives the fields
    and status stored."""
    async with rehearsal.runtime.store.engine.connect() as connection:
        entries = (await connection.execute(
            select(AuditEntry.reference, AuditEntry.action, AuditEntry.detail).where(AuditEntry.entity == "submission")
            .order_by(AuditEntry.id))).all()
    trails: dict[str, list[Any]] = {}
    for entry in entries:
        trails.setdefault(entry.reference, []).append(entry)
    for row in data["submissions"]:
        trail = trails.get(row["reference"], [])
        assert trail and trail[0].action == "created", (day, row["reference"], [e.action for e in trail])
        fields = dict(trail[0].detail.get("fields", {}))
        for entry in trail[1:]:
            for key, change in (entry.detail.get("changes") or {}).items():
                fields[key] = change[1]
        stored = {k: v for k, v in row["fields"].items() if v not in (None, "", [])}
        replayed = {k: v for k, v in fields.items() if v not in (None, "", [])}
        assert replayed == stored, (day, row["reference"], [e.action for e in trail], replayed, stored)
        actions = [e.action for e in trail]
        if row["status"] == "withdrawn":
            assert "withdrawn" in actions, (day, row["reference"], actions)
        if row["status"] == "rejected":
            assert "rejected" in actions, (day, row["reference"], actions)
        if row["decision"]:
            assert "decided" in actions or any(a.startswith("decid") for a in actions), (day, row["reference"], actions)
