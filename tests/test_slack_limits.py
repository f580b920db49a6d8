"""Slack's limits with large, awkward data: a council with sixty entries, a digest with two
hundred lines that need a person, an audit trail of a hundred and fifty actions, names
full of mrkdwn's special characters. Every post the bot makes goes to the Web API
stand-in, which refuses Block Kit that Slack would refuse (tests/slack_support/blockkit.py);
here nothing may be cut, and every entry must arrive, over as many posts as it takes."""
from __future__ import annotations

from datetime import timedelta

from slack_support.blockkit import message_problems, view_problems
from slack_support.harness import CAMDEN, TEAM_CHANNEL, slack  # noqa: F401
from slack_support.signing import dm_event, event_envelope

from bot.fitting import pages
from bot.modal_forms import Prefill, nomination_modal_context, offer_modal_context
from intake.jobs import send_digest
from intake.models import AuditEntry, Submission

HOSTILE = "Jo <b>&amp; *Bold* _it_ ~x~ `c` <!channel> @here"


async def _entries(runtime, count: int, *, council: str, verified: bool = True, status: str = "superseded",
                   long_senders: bool = False) -> list[str]:
    now = runtime.clock()
    references = []
    async with runtime.store.unit() as unit:
        for n in range(count):
            reference = f"PBR-{n + 1:04d}"
            references.append(reference)
            await unit.add(Submission(
                reference=reference, offer="pbr-pathfinder", council_code=council,
                contact_name=f"{HOSTILE} {n}", contact_email=f"officer{n}@camden.gov.uk",
                sender=f"{'officer.' * 28 if long_senders else ''}officer{n}@camden.gov.uk", channel="slack", received_at=now - timedelta(minutes=count - n),
                updated_at=now, verified=verified, status=status if n < count - 1 else "active",
                fields={"council": council, "contact_role": f"Head of Early Help {HOSTILE}", "centres": n + 1},
            ))
    return references


def _references(posts) -> list[str]:
    import re

    return sorted(set(re.findall(r"PBR-\d{4}", " ".join(p.all_text() for p in posts))))


async def test_the_status_of_a_council_with_sixty_entries_lists_every_one(slack):  # noqa: F811
    references = await _entries(slack.runtime, 60, council="E09000007")
    await slack.send.event(event_envelope(dm_event(CAMDEN, "what have we sent?")))
    await slack.settle()
    posts = slack.dm(CAMDEN)
    assert len(posts) > 1  # more than one post can carry
    assert _references(posts) == references
    assert all(len(p.blocks) <= 50 for p in posts) and "more" not in posts[-1].all_text().split("PBR")[-1]
    assert posts[1]["text"].startswith("(continued)")
    assert "&lt;!channel&gt;" in str(posts[0].blocks) and "<!channel>" not in str([p.blocks for p in posts])


async def test_a_busy_digest_is_posted_whole(slack):  # noqa: F811
    runtime = slack.runtime
    await _entries(runtime, 200, council="E09000007", verified=False, status="active", long_senders=True)
    report = await send_digest(runtime.jobs, now=runtime.clock(), on_demand=True)
    assert report.recorded == 2  # the team's email and its Slack channel
    await runtime.slack_poster.flush()
    posts = slack.posts(TEAM_CHANNEL)
    text = " ".join(p.all_text() for p in posts)
    # The channel names what the email digest names, and says how many more there are:
    # its "needs a person" section, far over 3,000 characters, is split, not cut.
    import re

    assert _references(posts) == sorted(set(re.findall(r"PBR-\d{4}", report.text or "")))
    assert "and 185 more" in text and "and 185 more" in (report.text or "")
    sections = [b["text"]["text"] for p in posts for b in p.blocks if b.get("type") == "section" and "text" in b]
    assert max(len(s) for s in sections) <= 3000 and sum(len(s) for s in sections) > 3000
    assert all(not message_problems(dict(p.args)) for p in posts)


async def test_a_long_audit_trail_and_every_modal_are_within_the_limits(slack):  # noqa: F811
    runtime = slack.runtime
    [reference] = await _entries(runtime, 1, council="E09000007")
    async with runtime.store.unit() as unit:
        for n in range(150):
            await unit.add(AuditEntry(at=runtime.clock(), actor=f"slack:U0TEAM{n:03d}", action="noted",
                                      entity="submission", reference=reference, detail={"note": f"{HOSTILE} {n}"}))
    views = runtime.slack.bot.ctx.views
    from bot.team_actions import audit_view

    async with runtime.store.reader() as unit:
        entries = await unit.audit.trail(reference)
    message = views.message("team_audit", audit_view(reference, entries, runtime.slack.bot.ctx))
    posts = pages(message)
    assert len(posts) > 1 and all(message_problems(p) == [] for p in posts)
    assert sum(str(p).count("noted") for p in posts) >= 150

    prefill = Prefill(email="jo@camden.gov.uk", name=HOSTILE, council=runtime.councils.get("E09000007"))
    for offer in runtime.campaign.offers:
        view = views.modal("modal_offer", offer_modal_context(
            runtime.campaign, offer.key, prefill=prefill, deadline="soon", metadata={"origin": "C1"}))
        assert view_problems({"view": view}) == []
    view = views.modal("modal_nomination", nomination_modal_context(
        runtime.campaign, prefill=prefill, deadline="soon", metadata={"origin": "C1"}))
    assert view_problems({"view": view}) == []
