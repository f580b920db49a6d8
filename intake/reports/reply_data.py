"""Plain-data views of the campaign and the records, for reply contexts.

Pure functions: the service passes in what it read; templates get dicts and strings only,
so every channel renders the same facts.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from intake.campaign.definition import Campaign, FieldSpec, NominationSpec, Offer, is_working_day
from intake.campaign.register import REGIONS, CouncilRegister
from intake.models import Nomination, Submission
from intake.parsing import FieldError, Value


def when(moment: datetime, campaign: Campaign) -> str:
    """'Thursday 27 May 2027, 5pm' in the campaign's time zone."""
    local = moment.astimezone(campaign.tz)
    clock = local.strftime("%I:%M%p").lstrip("0").lower().replace(":00", "")
    if local.hour == 23 and local.minute == 59:
        clock = "midnight"
    return f"{local:%A} {local.day} {local:%B %Y}, {clock}"


def working_days_left(now: datetime, deadline: datetime, campaign: Campaign) -> int:
    return _working_days_between(now.astimezone(campaign.tz).date(), deadline.astimezone(campaign.tz).date())


@lru_cache(maxsize=256)
def _working_days_between(day: date, end: date) -> int:
    """Working days after `day` up to `end`; every reply asks it of the same few dates."""
    count = 0
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def deadline_view(target: Offer | NominationSpec, campaign: Campaign, now: datetime) -> dict[str, Any]:
    deadline = campaign.deadline(target.key)
    return {
        "key": target.key,
        "title": target.title,
        "short_title": target.short_title,
        "responder": target.responder,
        "deadline": when(deadline, campaign),
        "deadline_iso": deadline.isoformat(),
        "passed": now > deadline,
        "working_days_left": working_days_left(now, deadline, campaign),
        "capacity": getattr(target, "capacity", None),
        "description": target.description,
    }


def display(spec: FieldSpec, value: Value | None, councils: CouncilRegister) -> str:
    if value is None or value == "" or value == []:
        return ""
    if spec.type == "council":
        council = councils.get(str(value))
        return council.name if council else str(value)
    if spec.type == "councils" and isinstance(value, list):
        return ", ".join(c.name if (c := councils.get(code)) else code for code in value)
    return str(value)


def field_rows(
    campaign: Campaign, offer: Offer, values: Mapping[str, Value], councils: CouncilRegister
) -> list[dict[str, Any]]:
    return [
        {
            "key": spec.key,
            "title": spec.title,
            "value": display(spec, values.get(spec.key), councils),
            "required": spec.required,
        }
        for spec in campaign.fields_for(offer)
    ]


def form_view(
    campaign: Campaign, offer: Offer, values: Mapping[str, Value], councils: CouncilRegister
) -> dict[str, Any]:
    """A form to copy into a reply: one `Label: value` line per field, known values filled."""
    rows = field_rows(campaign, offer, values, councils)
    lines = [f"Offer: {offer.short_title}"] + [f"{row['title']}: {row['value']}" for row in rows]
    return {"offer": offer.key, "title": offer.title, "rows": rows, "lines": lines}


def nomination_form_view(campaign: Campaign) -> dict[str, Any]:
    nomination = campaign.nomination
    lines = ["Region: "] + [f"{role.title}: name, council, email" for role in nomination.roles]
    return {"offer": nomination.key, "title": nomination.title, "lines": lines}


def errors_view(errors: Sequence[FieldError], campaign: Campaign, offer: Offer | None) -> list[dict[str, Any]]:
    titles = {spec.key: spec.title for spec in campaign.fields_for(offer)} if offer else {}
    titles.update({role.key: role.title for role in campaign.nomination.roles})
    titles.setdefault("region", "Region")
    titles.setdefault("offer", "Offer")
    out = []
    seen: set[str] = set()
    for error in errors:
        # One message per field: the first (what was wrong with what they wrote) beats a
        # later "enter the ..." for the same field.
        if error.field in seen:
            continue
        seen.add(error.field)
        head, _, part = error.field.partition(".")
        title = titles.get(head, error.field)
        if part:
            title = f"{title} ({part})"
        out.append(
            {"field": error.field, "title": title, "message": error.message, "candidates": list(error.candidates)}
        )
    return out


def submission_view(
    submission: Submission, campaign: Campaign, councils: CouncilRegister, now: datetime
) -> dict[str, Any]:
    offer = campaign.offer(submission.offer)
    council = councils.get(submission.council_code)
    return {
        "reference": submission.reference,
        "offer": offer.key,
        "offer_title": offer.title,
        "offer_short_title": offer.short_title,
        "council": council.name if council else submission.council_code,
        "council_code": submission.council_code,
        "region": council.region if council else "",
        "status": submission.status,
        "late": submission.late,
        "verified": submission.verified,
        "received": when(submission.received_at, campaign),
        "rows": field_rows(campaign, offer, submission.fields, councils),
        "deadline": deadline_view(offer, campaign, now),
    }


def leads_view(
    nominations: Iterable[Nomination], campaign: Campaign, councils: CouncilRegister, regions: Sequence[str] = REGIONS
) -> list[dict[str, Any]]:
    """The regional leads grid: each region with its three roles, named or not."""
    current: dict[tuple[str, str], Nomination] = {}
    for nomination in nominations:
        if nomination.current:
            current[(nomination.region, nomination.role)] = nomination
    grid = []
    for region in regions:
        roles = []
        for role in campaign.nomination.roles:
            named = current.get((region, role.key))
            council = councils.get(named.council_code) if named and named.council_code else None
            roles.append(
                {
                    "role": role.key,
                    "title": role.title,
                    "name": named.name if named else "",
                    "council": council.name if council else "",
                    "email": (named.email or "") if named else "",
                    "verified": named.verified if named else True,
                }
            )
        grid.append(
            {
                "region": region,
                "roles": roles,
                "unnamed": [r["title"] for r in roles if not r["name"]],
            }
        )
    return grid


def nomination_view(
    reference: str,
    region: str,
    people: Sequence[Nomination],
    all_current: Iterable[Nomination],
    campaign: Campaign,
    councils: CouncilRegister,
    now: datetime,
) -> dict[str, Any]:
    grid = leads_view(all_current, campaign, councils, regions=[region])[0]
    titles = {role.key: role.title for role in campaign.nomination.roles}
    return {
        "reference": reference,
        "region": region,
        "late": any(p.late for p in people),
        "verified": all(p.verified for p in people),
        "people": [
            {
                "role": p.role,
                "title": titles.get(p.role, p.role),
                "name": p.name,
                "council": (c.name if (c := councils.get(p.council_code or "")) else ""),
                "email": p.email or "",
            }
            for p in people
        ],
        "roles": grid["roles"],
        "unnamed": grid["unnamed"],
        "deadline": deadline_view(campaign.nomination, campaign, now),
    }
