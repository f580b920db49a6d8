"""Reminder planning: pure functions over the campaign and facts read from the database.

Which reminder slots exist (offsets in working days before each deadline), which of them
are due at a moment, who has not answered what, and who gets which reminder. The job in
`intake/jobs/reminder_job.py` reads the facts, calls these, renders and records; nothing here
does I/O, so a test or an operator can ask "what would happen at 09:00 on 21 May?" directly.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from intake.campaign.definition import Campaign, at_local, working_days_before
from intake.campaign.contacts import Contacts
from intake.campaign.register import REGIONS, CouncilRegister
from intake.reports.reply_data import deadline_view, form_view, nomination_form_view, when, working_days_left

KIND = "reminder"


@dataclass(frozen=True)
class Slot:
    """One reminder round: `offset` working days before `deadline`, for every target
    (offer or the nomination) due at that deadline."""

    deadline: datetime
    offset: int
    at: datetime
    targets: tuple[str, ...]

    @property
    def key(self) -> str:
        stamp = self.deadline.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
        return f"{stamp}:{self.offset}"

    def send_key(self, recipient: str) -> str:
        return f"{KIND}:{self.key}:{recipient}"


@dataclass(frozen=True)
class SubmissionFact:
    council_code: str
    offer: str
    reference: str
    status: str
    received_at: datetime
    late: bool = False
    verified: bool = True
    also_councils: tuple[str, ...] = ()  # councils named in a "councils" field (a cluster)


@dataclass(frozen=True)
class NominationFact:
    region: str
    role: str
    name: str
    council_code: str | None = None
    sender: str | None = None


@dataclass(frozen=True)
class Outstanding:
    """Who has not answered, for one slot: council code -> offer keys; region -> role keys."""

    offers: Mapping[str, tuple[str, ...]]
    roles: Mapping[str, tuple[str, ...]]

    def __bool__(self) -> bool:
        return bool(self.offers or self.roles)


@dataclass(frozen=True)
class Reminder:
    """One message to one recipient: the councils and regions it reminds them about."""

    slot: Slot
    channel: str  # "email" | "slack"
    recipient: str  # an address, or a Slack channel
    councils: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @property
    def send_key(self) -> str:
        if self.channel == "email":
            return self.slot.send_key(self.recipient)
        return self.slot.send_key(f"slack:{self.recipient}")


# --- when ---------------------------------------------------------------------------------


def reminder_slots(campaign: Campaign) -> list[Slot]:
    """Every reminder slot of the campaign, soonest first. A slot that would fall after its
    own deadline (a deadline before the reminder time) is left out."""
    by_deadline: dict[datetime, list[str]] = {}
    for target in campaign.targets():
        by_deadline.setdefault(campaign.deadline(target.key), []).append(target.key)
    settings = campaign.reminders
    slots = []
    for deadline, keys in by_deadline.items():
        local_day = deadline.astimezone(campaign.tz).date()
        for offset in settings.offsets_working_days:
            at = at_local(working_days_before(local_day, offset), settings.time, campaign.tz)
            if at <= deadline:
                slots.append(Slot(deadline=deadline, offset=offset, at=at, targets=tuple(keys)))
    return sorted(slots, key=lambda s: (s.at, s.deadline))


def grace(campaign: Campaign) -> timedelta:
    return timedelta(hours=campaign.reminders.grace_hours)


def due_slots(campaign: Campaign, now: datetime) -> list[Slot]:
    """Slots whose time has come and is no older than the grace period."""
    earliest = now - grace(campaign)
    return [slot for slot in reminder_slots(campaign) if earliest <= slot.at <= now]


def missed_slots(campaign: Campaign, now: datetime, *, since: datetime | None) -> list[Slot]:
    """Slots that fell more than the grace period ago, after `since` (when reminders last
    ran) or, with no such record, before a deadline still to come: too late to send, so
    they are logged as skipped."""
    earliest = now - grace(campaign)
    return [
        slot
        for slot in reminder_slots(campaign)
        if slot.at < earliest and (slot.at > since if since is not None else slot.deadline > earliest)
    ]


def upcoming_slots(campaign: Campaign, now: datetime, *, past: bool = False) -> list[Slot]:
    slots = reminder_slots(campaign)
    return slots if past else [slot for slot in slots if slot.at > now]


# --- who has not answered ------------------------------------------------------------


def answered(campaign: Campaign, submissions: Iterable[SubmissionFact]) -> set[tuple[str, str]]:
    """(council code, offer) pairs answered by an active submission, or by being named in
    another council's submission (a cluster)."""
    done: set[tuple[str, str]] = set()
    for s in submissions:
        if s.status != "active":
            continue
        done.add((s.council_code, s.offer))
        for code in s.also_councils:
            done.add((code, s.offer))
    return done


def outstanding(
    campaign: Campaign,
    councils: CouncilRegister,
    slot: Slot,
    submissions: Iterable[SubmissionFact],
    nominations: Iterable[NominationFact],
) -> Outstanding:
    nomination = campaign.nomination
    offers = [key for key in slot.targets if key != nomination.key]
    done = answered(campaign, submissions)
    missing: dict[str, tuple[str, ...]] = {}
    if offers:
        for council in councils:
            keys = tuple(key for key in offers if (council.code, key) not in done)
            if keys:
                missing[council.code] = keys
    roles: dict[str, tuple[str, ...]] = {}
    if nomination.key in slot.targets:
        named = {(n.region, n.role) for n in nominations}
        for region in REGIONS:
            unnamed = tuple(r.key for r in nomination.roles if (region, r.key) not in named)
            if unnamed:
                roles[region] = unnamed
    return Outstanding(offers=missing, roles=roles)


# --- who is told ---------------------------------------------------------------------


def senders_by_council(senders: Iterable[tuple[str, bool]], councils: CouncilRegister) -> dict[str, list[str]]:
    """Under each council, the one address that wrote for it most recently from its own
    domain, proven: `senders` are (address, proven), oldest first. Not everyone who ever
    wrote from the domain (a forged From among them) gets a copy of every reminder."""
    out: dict[str, list[str]] = {}
    for sender, proven in senders:
        council = councils.by_email(sender)
        if council is not None and proven:
            out[council.code] = [sender.strip().lower()]
    return out


def council_addresses(code: str, contacts: Contacts, senders: Mapping[str, Sequence[str]]) -> list[str]:
    return _dedupe([*contacts.council_emails(code), *senders.get(code, ())])


def region_addresses(
    region: str,
    councils: CouncilRegister,
    contacts: Contacts,
    nominations: Iterable[NominationFact],
) -> list[str]:
    """The region's own contacts and whoever has nominated for it; failing both, the listed
    contacts of the region's councils, so the reminder reaches someone."""
    named = [n.sender for n in nominations if n.region == region and n.sender and "@" in n.sender]
    found = _dedupe([*contacts.region_emails(region), *named])
    if found:
        return found
    return _dedupe([e for c in councils.in_region(region) for e in contacts.council_emails(c.code)])


def address(
    slot: Slot,
    pending: Outstanding,
    *,
    councils: CouncilRegister,
    contacts: Contacts,
    senders: Mapping[str, Sequence[str]],
    nominations: Sequence[NominationFact],
    team_channel: str | None = None,
) -> tuple[list[Reminder], list[str]]:
    """The reminders for one slot, one per recipient (an address reminded about a council
    and a region gets one message covering both), and the councils/regions nobody could be
    told about."""
    per_address: dict[str, tuple[list[str], list[str]]] = {}
    unreachable: list[str] = []
    for code in pending.offers:
        targets = council_addresses(code, contacts, senders)
        if not targets:
            unreachable.append(code)
        for email in targets:
            per_address.setdefault(email, ([], []))[0].append(code)
    for region in pending.roles:
        targets = region_addresses(region, councils, contacts, nominations)
        if not targets:
            unreachable.append(region)
        for email in targets:
            per_address.setdefault(email, ([], []))[1].append(region)
    reminders = [
        Reminder(slot=slot, channel="email", recipient=email, councils=tuple(cs), regions=tuple(rs))
        for email, (cs, rs) in per_address.items()
    ]
    # Slack: each region's channel hears about its own councils and roles; the rest go to
    # the CIB team channel in one message.
    per_channel: dict[str, tuple[list[str], list[str]]] = {}
    for region in REGIONS:
        region_councils = [c.code for c in councils.in_region(region) if c.code in pending.offers]
        region_roles = [region] if region in pending.roles else []
        if not (region_councils or region_roles):
            continue
        channel = contacts.region_channels.get(region) or team_channel
        if channel:
            entry = per_channel.setdefault(channel, ([], []))
            entry[0].extend(region_councils)
            entry[1].extend(region_roles)
    reminders += [
        Reminder(slot=slot, channel="slack", recipient=channel, councils=tuple(cs), regions=tuple(rs))
        for channel, (cs, rs) in per_channel.items()
    ]
    return reminders, unreachable


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item.strip().lower(), None)
    return list(seen)


# --- what they are told ----------------------------------------------------------------


@dataclass
class Facts:
    """What the database says, read once per run and shared by every message."""

    submissions: list[SubmissionFact] = field(default_factory=list)
    nominations: list[NominationFact] = field(default_factory=list)
    senders: dict[str, list[str]] = field(default_factory=dict)

    def received_by(self) -> dict[str, list[SubmissionFact]]:
        out: dict[str, list[SubmissionFact]] = {}
        for s in self.submissions:
            if s.status == "active":
                out.setdefault(s.council_code, []).append(s)
        return out


def slack_command(campaign: Campaign, key: str) -> str:
    return "/cib nominate" if key == campaign.nomination.key else f"/cib eoi {key}"


def target_view(campaign: Campaign, councils: CouncilRegister, key: str, now: datetime) -> dict[str, Any]:
    if key == campaign.nomination.key:
        view = deadline_view(campaign.nomination, campaign, now)
        view["form"] = nomination_form_view(campaign)
    else:
        offer = campaign.offer(key)
        view = deadline_view(offer, campaign, now)
        view["form"] = form_view(campaign, offer, {}, councils)
    view["slack_command"] = slack_command(campaign, key)
    return view


def reminder_context(
    reminder: Reminder,
    pending: Outstanding,
    facts: Facts,
    *,
    campaign: Campaign,
    councils: CouncilRegister,
    now: datetime,
    intake_address: str,
    received: Mapping[str, Sequence[SubmissionFact]] | None = None,
    targets: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Plain data for templates/email/reminder.* and templates/slack/reminder.json.j2.
    `received` and `targets` may be computed once per slot and passed in (they are the
    same for every recipient)."""
    slot = reminder.slot
    received = received if received is not None else facts.received_by()
    targets = targets if targets is not None else {k: target_view(campaign, councils, k, now) for k in slot.targets}
    # Only what this recipient still owes: a council that has sent its PbR expression of
    # interest is not reminded of the PbR pathfinder alongside what it has not sent.
    owed = {key for code in reminder.councils for key in pending.offers.get(code, ())}
    if reminder.regions:
        owed.add(campaign.nomination.key)
    due = [targets[key] for key in slot.targets if key in owed] or [targets[key] for key in slot.targets]
    return {
        "campaign_name": campaign.campaign.name,
        "team_name": campaign.campaign.team_name,
        "intake_address": intake_address,
        "deadline": when(slot.deadline, campaign),
        "deadline_iso": slot.deadline.isoformat(),
        "offset": slot.offset,
        "working_days_left": working_days_left(now, slot.deadline, campaign),
        "final": slot.offset == 0,
        "due": due,
        "councils": [_council_item(code, pending, received, targets, campaign, councils) for code in reminder.councils],
        "regions": _region_items(reminder.regions, pending, facts, campaign, councils),
        "nomination_command": slack_command(campaign, campaign.nomination.key),
        "channel": reminder.channel,
    }


def _council_item(
    code: str,
    pending: Outstanding,
    received: Mapping[str, Sequence[SubmissionFact]],
    targets: Mapping[str, dict[str, Any]],
    campaign: Campaign,
    councils: CouncilRegister,
) -> dict[str, Any]:
    """One council in a reminder: what it has not sent (with the form), what it has."""
    council = councils.get(code)
    return {
        "code": code,
        "name": council.name if council else code,
        "region": council.region if council else "",
        "missing": [
            {**targets[key], "form": form_view(campaign, campaign.offer(key), {"council": code}, councils)}
            for key in pending.offers.get(code, ())
        ],
        "received": [
            {
                "reference": s.reference,
                "offer_short_title": campaign.title_of(s.offer),
                "received": when(s.received_at, campaign),
            }
            for s in received.get(code, ())
        ],
    }


def _region_items(
    regions: Sequence[str], pending: Outstanding, facts: Facts, campaign: Campaign, councils: CouncilRegister
) -> list[dict[str, Any]]:
    """Each region in a reminder: the lead roles still unnamed, and who is named so far."""
    roles = {role.key: role.title for role in campaign.nomination.roles}
    named: dict[str, list[NominationFact]] = {}
    for n in facts.nominations:
        named.setdefault(n.region, []).append(n)
    return [
        {
            "region": region,
            "unnamed": [roles[key] for key in pending.roles.get(region, ())],
            "form_lines": [f"Region: {region}", *nomination_form_view(campaign)["lines"][1:]],
            "named": [
                {
                    "title": roles.get(n.role, n.role),
                    "name": n.name,
                    "council": (c.name if (c := councils.get(n.council_code or "")) else ""),
                }
                for n in sorted(named.get(region, ()), key=lambda n: list(roles).index(n.role) if n.role in roles else 9)
            ],
        }
        for region in regions
    ]
