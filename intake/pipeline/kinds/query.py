"""The query kind: questions the service answers itself from the campaign and the
database (deadlines, "what have we sent?", regional leads, a blank form, help)."""
from __future__ import annotations

from intake.campaign.register import REGIONS
from intake.messages import Reply
from intake.parsing import Query, Value, apply_defaults
from intake.pipeline.kinds.reply_views import submission_context
from intake.pipeline.run import Run, World
from intake.reports.reply_data import deadline_view, form_view, leads_view, nomination_form_view
from intake.store import Unit


async def handle(run: Run) -> None:
    assert run.parsed is not None and run.parsed.query is not None
    reply = await answer(run.world, run.parsed.query, sender=run.sender, unit=run.tx)
    if reply.kind == "help" and run.admin:
        reply.context["team"] = True  # the help lists the CIB team's own commands too
    run.replies.append(reply)


async def answer(world: World, query: Query, *, sender: str | None, unit: Unit) -> Reply:
    campaign, now = world.campaign, world.clock()
    if query.kind == "deadline" and query.offer:
        target = campaign.nomination if query.offer == campaign.nomination.key else campaign.offer(query.offer)
        return Reply("deadline", {"target": deadline_view(target, campaign, now)})
    if query.kind in ("deadline", "deadlines"):
        return Reply("deadlines", {"targets": [deadline_view(t, campaign, now) for t in campaign.targets()]})
    if query.kind == "status":
        return await _status(world, sender, unit)
    if query.kind == "leads":
        grid = leads_view(
            await unit.nominations.all(region=query.region), campaign, world.councils,
            [query.region] if query.region else REGIONS,
        )
        return Reply("leads", {"region": query.region, "grid": grid})
    if query.kind == "form":
        return Reply("form", {"forms": _forms(world, query.offer, sender)})
    return Reply("help", {"targets": [deadline_view(t, campaign, now) for t in campaign.targets()]})


async def _status(world: World, sender: str | None, unit: Unit) -> Reply:
    """What the sender's council has sent, what it has not yet, and its region's leads."""
    campaign, now = world.campaign, world.clock()
    council = world.councils.by_email(sender)
    if council is None:
        return Reply("status", {"council": None, "submissions": [], "leads": None})
    submissions = await unit.submissions.all(council_code=council.code)
    grid = leads_view(await unit.nominations.all(region=council.region), campaign, world.councils, [council.region])
    answered = {s.offer for s in submissions if s.status == "active"}
    return Reply(
        "status",
        {
            "council": council.name,
            "region": council.region,
            "submissions": [submission_context(world, s, now, {}) for s in submissions],
            "not_yet": [deadline_view(o, campaign, now) for o in campaign.offers if o.key not in answered],
            "leads": grid[0],
        },
    )


def _forms(world: World, offer_key: str | None, sender: str | None) -> list[dict[str, object]]:
    """Blank forms to copy, filled with what we know of the sender."""
    campaign, councils = world.campaign, world.councils

    def prefilled(key: str) -> dict[str, Value]:
        return apply_defaults(campaign, key, {}, sender=sender, councils=councils)

    if offer_key and offer_key != campaign.nomination.key:
        offer = campaign.offer(offer_key)
        return [form_view(campaign, offer, prefilled(offer.key), councils)]
    if offer_key:
        return [nomination_form_view(campaign)]
    return [form_view(campaign, o, prefilled(o.key), councils) for o in campaign.offers] + [
        nomination_form_view(campaign)
    ]
