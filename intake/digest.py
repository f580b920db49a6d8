"""The CIB team's digest: what arrived since the last one, places taken against capacity,
engagement by region, the regional leads grid, what needs a person, and the next deadlines.

`build_digest` reads the database once and returns plain data; the email (HTML and text)
and Slack (Block Kit) renderings come from templates/email/digest.* and
templates/slack/digest.json.j2. The daily send is `intake.schedule.send_digest`; the Slack
bot asks for `digest_for_slack` on demand.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from intake.campaign import Campaign, at_local
from intake.councils import REGIONS
from intake.render import Renderer
from intake.replies import deadline_view, leads_view, when
from intake.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from intake.service import IntakeService

KIND = "digest"
LIST_LIMIT = 15  # longer lists show this many and "and N more"


# --- when ---------------------------------------------------------------------------------


def digest_time(campaign: Campaign, day: date) -> datetime:
    return at_local(day, campaign.digest.time, campaign.tz)


def latest_digest_time(campaign: Campaign, now: datetime) -> datetime:
    """The most recent daily digest time at or before `now`."""
    today = now.astimezone(campaign.tz).date()
    moment = digest_time(campaign, today)
    return moment if moment <= now else digest_time(campaign, today - timedelta(days=1))


def due_digest(campaign: Campaign, now: datetime) -> datetime | None:
    """The digest time due at `now` (no older than the grace period), if any."""
    moment = latest_digest_time(campaign, now)
    return moment if now - moment <= timedelta(hours=campaign.digest.grace_hours) else None


def upcoming_digests(campaign: Campaign, now: datetime, count: int = 7) -> list[datetime]:
    first = latest_digest_time(campaign, now).astimezone(campaign.tz).date() + timedelta(days=1)
    return [digest_time(campaign, first + timedelta(days=n)) for n in range(count)]


def send_key(moment: datetime, recipient: str, *, on_demand: bool = False) -> str:
    if on_demand:  # asked for at `moment`: never the same key as the day's scheduled one
        return f"{KIND}:on-demand:{moment.isoformat()}:{recipient}"
    return f"{KIND}:{moment.date().isoformat()}:{recipient}"


# --- what ---------------------------------------------------------------------------------


def bar(count: int, total: int | None, width: int = 10) -> str:
    """A text bar for Slack and plain text: '██████░░░░'."""
    if not total:
        return ""
    filled = min(width, round(width * count / total))
    return "█" * filled + "░" * (width - filled)


def _percent(count: int, total: int | None) -> int:
    return min(100, round(100 * count / total)) if total else 0


def _capped(items: list[Any]) -> dict[str, Any]:
    return {"items": items[:LIST_LIMIT], "more": max(0, len(items) - LIST_LIMIT), "count": len(items)}


@dataclass
class Digest:
    """The digest as plain data (`context`), ready for any template."""

    context: dict[str, Any]

    @property
    def subject(self) -> str:
        return self.context["subject"]


async def build_digest(service: IntakeService, now: datetime, *, since: datetime | None = None) -> Digest:
    """Everything the digest shows, as of `now`. `since` defaults to when the last digest
    was recorded (or a day before `now`)."""
    campaign, councils = service.campaign, service.councils
    async with service.store.reader() as unit:
        if since is None:
            since = await unit.outbound.last_recorded(KIND, before=now)
            # Our own record of a digest at `now` (a re-run) must not hide the day's news.
            if since is not None and since >= now:
                since = None
        since = since or now - timedelta(days=1)
        submissions = await unit.submissions.all()
        nominations = await unit.nominations.all()
        inbound = [m for m in await unit.inbound.since(since) if m.received_at <= now]
        attention = [m for m in await unit.inbound.needing_attention() if m.received_at <= now]
        enquiries = [e for e in await unit.enquiries.all(since=since) if e.received_at <= now]
        senders = await unit.inbound.senders(until=now)

    submissions = [s for s in submissions if s.received_at <= now]
    nominations = [n for n in nominations if n.received_at <= now]
    offer_titles = {o.key: o.short_title for o in campaign.offers}
    role_titles = {r.key: r.title for r in campaign.nomination.roles}

    def council_name(code: str | None) -> str:
        council = councils.get(code or "")
        return council.short_name if council else (code or "")

    # What arrived since the last digest.
    arrived_counts: dict[str, int] = {}
    for message in inbound:
        label = message.classification or message.status
        arrived_counts[label] = arrived_counts.get(label, 0) + 1
    new_submissions = [
        {
            "reference": s.reference,
            "offer": offer_titles.get(s.offer, s.offer),
            "council": council_name(s.council_code),
            "late": s.late,
            "verified": s.verified,
            "status": s.status,
            "channel": s.channel,
        }
        for s in submissions
        if s.received_at > since
    ]
    new_nominations = [
        {
            "reference": n.reference,
            "region": n.region,
            "role": role_titles.get(n.role, n.role),
            "name": n.name,
            "council": council_name(n.council_code),
        }
        for n in nominations
        if n.received_at > since
    ]

    # Places taken against capacity.
    active = [s for s in submissions if s.status == "active"]
    offers = []
    for offer in campaign.offers:
        rows = [s for s in active if s.offer == offer.key]
        count = len(rows)
        offers.append(
            {
                "key": offer.key,
                "title": offer.title,
                "short_title": offer.short_title,
                "count": count,
                "capacity": offer.capacity,
                "percent": _percent(count, offer.capacity or len(councils)),
                "bar": bar(count, offer.capacity or len(councils)),
                "over": bool(offer.capacity and count > offer.capacity),
                "late": sum(1 for s in rows if s.late),
                "unverified": sum(1 for s in rows if not s.verified),
                "deadline": deadline_view(offer, campaign, now),
            }
        )

    # Engagement: a council has engaged once anything has come from it or for it.
    engaged = {s.council_code for s in submissions}
    for sender in [*senders, *(n.sender for n in nominations if n.sender)]:
        council = councils.by_email(sender)
        if council is not None:
            engaged.add(council.code)
    regions = []
    for region in REGIONS:
        members = councils.in_region(region)
        done = [c for c in members if c.code in engaged]
        regions.append(
            {
                "region": region,
                "engaged": len(done),
                "total": len(members),
                "percent": _percent(len(done), len(members)),
                "bar": bar(len(done), len(members)),
                "not_engaged": sorted(c.short_name for c in members if c.code not in engaged),
            }
        )
    total_engaged = sum(r["engaged"] for r in regions)

    grid = leads_view(nominations, campaign, councils)
    short = {c.name: c.short_name for c in councils}
    for region in grid:
        for role in region["roles"]:
            role["council"] = short.get(role["council"], role["council"])
    named_roles = sum(1 for region in grid for role in region["roles"] if role["name"])

    # What needs a person.
    unverified = [
        {"reference": s.reference, "what": offer_titles.get(s.offer, s.offer), "who": council_name(s.council_code), "sender": s.sender or ""}
        for s in active
        if not s.verified
    ] + [
        {"reference": n.reference, "what": f"{role_titles.get(n.role, n.role)}, {n.region}", "who": n.name, "sender": n.sender or ""}
        for n in nominations
        if not n.verified
    ]
    late = [
        {"reference": s.reference, "what": offer_titles.get(s.offer, s.offer), "who": council_name(s.council_code), "received": when(s.received_at, campaign)}
        for s in active
        if s.late
    ] + [
        {"reference": n.reference, "what": f"{role_titles.get(n.role, n.role)}, {n.region}", "who": n.name, "received": when(n.received_at, campaign)}
        for n in nominations
        if n.late
    ]
    # A message still "received" a minute after it arrived is stuck, not merely in flight.
    stuck = [
        {
            "id": m.id,
            "channel": m.channel,
            "sender": m.sender or "unknown sender",
            "subject": m.subject or "(no subject)",
            "status": m.status,
            "received": when(m.received_at, campaign),
        }
        for m in attention
        if m.status == "failed" or now - m.received_at > timedelta(minutes=10)
    ]
    enquiry_items = [
        {
            "sender": e.sender or "unknown sender",
            "channel": e.channel,
            "text": _preview(e.text),
            "received": when(e.received_at, campaign),
        }
        for e in enquiries
    ]

    upcoming = [deadline_view(t, campaign, now) for t in campaign.targets()]
    next_deadlines = [t for t in upcoming if not t["passed"]]
    news = len(new_submissions) + len(new_nominations)
    needs_person = len(unverified) + len(stuck) + len(enquiry_items)
    day = now.astimezone(campaign.tz)
    subject = f"CIB intake digest, {day:%A} {day.day} {day:%B}: " + (
        f"{news} new" if news else "nothing new"
    ) + (f", {needs_person} need a person" if needs_person else "")
    context = {
        "subject": subject,
        "campaign_name": campaign.campaign.name,
        "team_name": campaign.campaign.team_name,
        "intake_address": service.intake_address,
        "now": when(now, campaign),
        "since": when(since, campaign),
        "arrived": {
            "messages": len(inbound),
            "by_kind": [
                (count, _plural(kind, count)) for kind, count in sorted(arrived_counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "submissions": _capped(new_submissions),
            "nominations": _capped(new_nominations),
        },
        "offers": offers,
        "regions": regions,
        "engaged": total_engaged,
        "councils_total": len(councils),
        "engaged_percent": _percent(total_engaged, len(councils)),
        "leads": grid,
        "roles": [r.title for r in campaign.nomination.roles],
        "leads_named": named_roles,
        "leads_total": len(grid) * len(campaign.nomination.roles),
        "attention": {
            "unverified": _capped(unverified),
            "late": _capped(late),
            "stuck": _capped(stuck),
            "enquiries": _capped(enquiry_items),
        },
        "needs_person": needs_person,
        "deadlines": next_deadlines,
    }
    return Digest(context)


_NOUNS = {
    "submission": ("expression of interest", "expressions of interest"),
    "nomination": ("nomination", "nominations"),
    "query": ("question answered", "questions answered"),
    "enquiry": ("enquiry", "enquiries"),
    "amend": ("amendment", "amendments"),
    "withdraw": ("withdrawal", "withdrawals"),
    "automatic": ("automatic message ignored", "automatic messages ignored"),
    "failed": ("failed", "failed"),
    "received": ("not yet processed", "not yet processed"),
}


def _plural(kind: str, count: int) -> str:
    one, many = _NOUNS.get(kind, (kind, kind))
    return one if count == 1 else many


def _preview(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# --- how it looks -----------------------------------------------------------------------


def render_email(renderer: Renderer, digest: Digest) -> tuple[str, str]:
    """(plain text, HTML)."""
    return (
        renderer.render("email/digest.txt.j2", digest.context),
        renderer.render("email/digest.html.j2", digest.context),
    )


def render_slack(renderer: Renderer, digest: Digest) -> dict[str, Any]:
    return json.loads(renderer.render("slack/digest.json.j2", digest.context))


def _renderer_of(service: IntakeService) -> Renderer:
    renderer = getattr(getattr(service, "outbox", None), "renderer", None)
    return renderer if isinstance(renderer, Renderer) else Renderer(PROJECT_ROOT / "templates")


async def digest_for_slack(service: IntakeService, now: datetime, *, renderer: Renderer | None = None) -> dict[str, Any]:
    """The digest as of `now`, as a Block Kit message ({"text", "blocks"}), for the Slack
    bot's `/cib digest`. Reads only; records nothing."""
    digest = await build_digest(service, now)
    return render_slack(renderer or _renderer_of(service), digest)
