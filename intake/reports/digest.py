"""The CIB team's digest, planned: what arrived since the last one, places taken against
capacity, engagement by region, the regional leads grid, what needs a person, and the next
deadlines; and when a digest is due.

Where it sits in the flow: the digest job (`intake/jobs/digest_job.py`) reads `DigestFacts`
from the store as of a moment; the pure functions here turn them into the sections of one
plain `context` dict (`digest_context` puts them together), and the email
(templates/email/digest.*) and Slack (templates/slack/digest.json.j2) renderings are made
from that dict. Nothing here does I/O, so each section can be checked alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from intake.campaign.definition import Campaign, at_local
from intake.campaign.register import REGIONS, CouncilRegister
from intake.reports.reply_data import deadline_view, leads_view, when

if TYPE_CHECKING:
    from intake.models import Confirmation, Enquiry, InboundMessage, Nomination, OutboundMessage, Submission

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
class DigestContent:
    """The digest as plain data (`context`), ready for any template."""

    context: dict[str, Any]

    @property
    def subject(self) -> str:
        return self.context["subject"]


@dataclass(frozen=True)
class DigestFacts:
    """What the digest is made from, as of `now`: nothing received after `now` is here."""

    now: datetime
    since: datetime  # the last digest (or a day before `now`): "new" means after this
    submissions: list[Submission]
    nominations: list[Nomination]
    messages: list[InboundMessage]  # inbound messages received after `since`
    unprocessed: list[InboundMessage]  # still "received", or "failed"
    enquiries: list[Enquiry]  # received after `since`
    senders: list[str]  # everyone who has written, up to `now`
    held: list[Confirmation] = field(default_factory=list)  # changes waiting for their contact
    undelivered: list[OutboundMessage] = field(default_factory=list)  # sends that gave up


@dataclass(frozen=True)
class Names:
    """How keys and codes are shown: offers by short title, roles by title, councils by
    short name; anything unknown as itself, so a stale key still shows something."""

    offers: dict[str, str]
    roles: dict[str, str]
    councils: CouncilRegister

    @classmethod
    def of(cls, campaign: Campaign, councils: CouncilRegister) -> Names:
        return cls(
            offers={o.key: o.short_title for o in campaign.offers},
            roles={r.key: r.title for r in campaign.nomination.roles},
            councils=councils,
        )

    def offer(self, key: str) -> str:
        return self.offers.get(key, key)

    def role(self, key: str) -> str:
        return self.roles.get(key, key)

    def council(self, code: str | None) -> str:
        council = self.councils.get(code or "")
        return council.short_name if council else (code or "")


def _active(submissions: list[Submission]) -> list[Submission]:
    """Submissions not withdrawn: only these take places or need chasing."""
    return [s for s in submissions if s.status == "active"]


# What arrived since the last digest.


def arrived_by_kind(messages: list[InboundMessage]) -> list[tuple[int, str]]:
    """(count, noun) per kind of message, most first; a message not yet classified counts
    under its status ("received", "failed")."""
    counts: dict[str, int] = {}
    for message in messages:
        label = message.classification or message.status
        counts[label] = counts.get(label, 0) + 1
    return [(count, _plural(kind, count)) for kind, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def new_submissions(submissions: list[Submission], since: datetime, names: Names) -> list[dict[str, Any]]:
    return [
        {"reference": s.reference, "offer": names.offer(s.offer), "council": names.council(s.council_code),
         "late": s.late, "verified": s.verified, "status": s.status, "channel": s.channel}
        for s in submissions
        if s.received_at > since
    ]


def new_nominations(nominations: list[Nomination], since: datetime, names: Names) -> list[dict[str, Any]]:
    return [
        {"reference": n.reference, "region": n.region, "role": names.role(n.role), "name": n.name,
         "council": names.council(n.council_code)}
        for n in nominations
        if n.received_at > since
    ]


def arrived(facts: DigestFacts, names: Names) -> dict[str, Any]:
    return {
        "messages": len(facts.messages),
        "by_kind": arrived_by_kind(facts.messages),
        "submissions": _capped(new_submissions(facts.submissions, facts.since, names)),
        "nominations": _capped(new_nominations(facts.nominations, facts.since, names)),
    }


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


# Places taken against capacity.


def places(
    campaign: Campaign, councils: CouncilRegister, submissions: list[Submission], now: datetime
) -> list[dict[str, Any]]:
    """One row per offer: active submissions against its capacity; an offer with no
    capacity is measured against the number of councils."""
    active = _active(submissions)
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
    return offers


# Engagement by region.


def engaged_councils(councils: CouncilRegister, facts: DigestFacts) -> set[str]:
    """Codes of councils that have engaged: a council has engaged once anything has come
    from it (a message or nomination sent from its domain) or for it (a submission naming
    it, even from an unverified sender)."""
    engaged: set[str] = {s.council_code for s in facts.submissions}
    for sender in [*facts.senders, *(n.sender for n in facts.nominations if n.sender)]:
        council = councils.by_email(sender)
        if council is not None:
            engaged.add(council.code)
    return engaged


def engagement(councils: CouncilRegister, engaged: set[str]) -> list[dict[str, Any]]:
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
    return regions


# The regional leads grid.


def leads(campaign: Campaign, councils: CouncilRegister, nominations: list[Nomination]) -> list[dict[str, Any]]:
    """`leads_view`'s grid with each council by its short name, as everywhere else in the digest."""
    grid = leads_view(nominations, campaign, councils)
    short = {c.name: c.short_name for c in councils}
    for region in grid:
        for role in region["roles"]:
            role["council"] = short.get(role["council"], role["council"])
    return grid


# What needs a person.


def unverified(submissions: list[Submission], nominations: list[Nomination], names: Names) -> list[dict[str, Any]]:
    """Active submissions whose sender is not at the council named, and nominations whose
    sender is not at a council in the region: someone should check they are genuine."""
    return [
        {
            "reference": s.reference, "what": names.offer(s.offer), "who": names.council(s.council_code),
            "sender": s.sender or "",
        }
        for s in _active(submissions)
        if not s.verified
    ] + [
        {"reference": n.reference, "what": f"{names.role(n.role)}, {n.region}", "who": n.name, "sender": n.sender or ""}
        for n in nominations
        if not n.verified
    ]


def late(
    submissions: list[Submission], nominations: list[Nomination], names: Names, campaign: Campaign
) -> list[dict[str, Any]]:
    """Active submissions and nominations that came in after their deadline."""
    return [
        {
            "reference": s.reference, "what": names.offer(s.offer), "who": names.council(s.council_code),
            "received": when(s.received_at, campaign),
        }
        for s in _active(submissions)
        if s.late
    ] + [
        {
            "reference": n.reference, "what": f"{names.role(n.role)}, {n.region}", "who": n.name,
            "received": when(n.received_at, campaign),
        }
        for n in nominations
        if n.late
    ]


def stuck(unprocessed: list[InboundMessage], now: datetime, campaign: Campaign) -> list[dict[str, Any]]:
    # A message still "received" ten minutes after it arrived is stuck, not merely in flight.
    return [
        {
            "id": m.id, "channel": m.channel, "sender": m.sender or "unknown sender",
            "subject": m.subject or "(no subject)", "status": m.status, "received": when(m.received_at, campaign),
        }
        for m in unprocessed
        if m.status == "failed" or now - m.received_at > timedelta(minutes=10)
    ]


def awaiting(held: list[Confirmation], now: datetime, campaign: Campaign) -> list[dict[str, Any]]:
    """Changes held for the contact on record to confirm; lapsed ones stay until someone
    looks at them (the requester may need telling, or the council a call). Those held for
    the team (a move to another council) wait for it and never lapse."""
    return [
        {
            "id": c.id, "reference": c.reference or "a draft", "summary": c.summary,
            "requester": c.requester or "unknown sender", "expires": when(c.expires_at, campaign),
            "for_team": c.waits_for == "team", "lapsed": c.waits_for != "team" and c.expires_at <= now,
        }
        for c in held
    ]


def undelivered(failed: list[OutboundMessage], campaign: Campaign) -> list[dict[str, Any]]:
    """Our own mail or posts that could not be delivered (refused, or every attempt failed): the person never heard from us.
    They stay until the team sends them again or notes the address as unreachable."""
    return [
        {"id": o.id, "kind": o.kind, "channel": o.channel, "recipient": o.recipient,
         "subject": o.subject or "(no subject)", "error": (o.error or "no reason given")[:200],
         "recorded": when(o.created_at, campaign)}
        for o in failed
    ]


def unanswered(messages: list[InboundMessage], campaign: Campaign) -> list[dict[str, Any]]:
    """Messages since the last digest kept and processed but not answered, past a rate
    limit (`limit_replies` says so in their detail): a flood, or a sender to call."""
    return [
        {"id": m.id, "sender": m.sender or "unknown sender", "subject": m.subject or "(no subject)",
         "received": when(m.received_at, campaign)}
        for m in messages
        if "rate limit:" in (m.detail or "")
    ]


def questions(enquiries: list[Enquiry], campaign: Campaign) -> list[dict[str, Any]]:
    """Enquiries since the last digest: questions left for the team to answer."""
    return [
        {"sender": e.sender or "unknown sender", "channel": e.channel, "text": _preview(e.text),
         "received": when(e.received_at, campaign)}
        for e in enquiries
    ]


def _preview(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def attention(facts: DigestFacts, names: Names, campaign: Campaign) -> dict[str, dict[str, Any]]:
    return {
        "unverified": _capped(unverified(facts.submissions, facts.nominations, names)),
        "late": _capped(late(facts.submissions, facts.nominations, names, campaign)),
        "stuck": _capped(stuck(facts.unprocessed, facts.now, campaign)),
        "enquiries": _capped(questions(facts.enquiries, campaign)),
        "held": _capped(awaiting(facts.held, facts.now, campaign)),
        "unanswered": _capped(unanswered(facts.messages, campaign)),
        "undelivered": _capped(undelivered(facts.undelivered, campaign)),
    }


# Deadlines, and the subject line.


def next_deadlines(campaign: Campaign, now: datetime) -> list[dict[str, Any]]:
    return [view for view in (deadline_view(t, campaign, now) for t in campaign.targets()) if not view["passed"]]


def subject_line(campaign: Campaign, now: datetime, news: int, needing: int) -> str:
    day = now.astimezone(campaign.tz)
    return f"CIB intake digest, {day:%A} {day.day} {day:%B}: " + (f"{news} new" if news else "nothing new") + (
        f", {needing} need a person" if needing else ""
    )


# The whole digest.


def digest_context(
    facts: DigestFacts, campaign: Campaign, councils: CouncilRegister, intake_address: str
) -> dict[str, Any]:
    """Every section, in the order the templates read them."""
    names = Names.of(campaign, councils)
    news = arrived(facts, names)
    regions = engagement(councils, engaged_councils(councils, facts))
    total_engaged = sum(r["engaged"] for r in regions)
    grid = leads(campaign, councils, facts.nominations)
    chase = attention(facts, names, campaign)
    # The headline count leaves late entries out (they are listed all the same).
    needing = sum(chase[key]["count"] for key in ("unverified", "stuck", "enquiries", "held", "unanswered", "undelivered"))
    return {
        "subject": subject_line(
            campaign, facts.now, news["submissions"]["count"] + news["nominations"]["count"], needing
        ),
        "campaign_name": campaign.campaign.name,
        "team_name": campaign.campaign.team_name,
        "intake_address": intake_address,
        "now": when(facts.now, campaign),
        "since": when(facts.since, campaign),
        "arrived": news,
        "offers": places(campaign, councils, facts.submissions, facts.now),
        "regions": regions,
        "engaged": total_engaged,
        "councils_total": len(councils),
        "engaged_percent": _percent(total_engaged, len(councils)),
        "leads": grid,
        "roles": [r.title for r in campaign.nomination.roles],
        "leads_named": sum(1 for region in grid for role in region["roles"] if role["name"]),
        "leads_total": len(grid) * len(campaign.nomination.roles),
        "attention": chase,
        "needs_person": needing,
        "deadlines": next_deadlines(campaign, facts.now),
    }
