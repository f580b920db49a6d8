"""Every template that shows a submission, nomination, enquiry, message or audit row,
rendered with data hypothesis generates: optional fields missing, None and empty strings,
clusters and nominations where a submission is more usual, very long and non-Latin names,
and markup of every channel. The contexts are made by the functions the service uses
(`submission_view`, `brief`, `nomination_view`, `digest_context`, `reminder_context`,
the desk's and the bot's views) from generated rows; where a handler builds a dict
itself, its real shape is generated, optional keys and all. Nothing may raise, and what
came from data is escaped for where it goes: HTML-escaped in HTML, Slack's `&`, `<` and
`>` as entities in mrkdwn, no line break in an email's subject, and never a `None` shown.
The workspace's pages are read through `intake.team.board` from a real database."""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from bot.fitting import pages
from bot.modal_forms import Prefill, nomination_modal_context, offer_modal_context
from bot.team_actions import audit_view
from bot.mrkdwn import FILTERS as SLACK_FILTERS
from intake.reports import digest as digests
from intake.reports import reminders as plan
from intake.runtime.composition import create_service
from intake.campaign.definition import Campaign, load_campaign
from intake.parsing.confirmation_tokens import EXPIRY, new_token
from intake.campaign.register import REGIONS, CouncilRegister, load_councils
from intake.runtime.schema import open_database
from intake.jobs.facts import submission_facts
from intake.reports.appendix_a import appendix_a
from intake.reports.appendix_a import render as render_leads
from intake.mail.compose import compose, reply_subject
from intake.models import (
    AuditEntry, Base, Confirmation, Enquiry, IncompleteSubmission, InboundMessage, Nomination, OutboundMessage, Place,
    Submission,
)
from intake.outbox.channels import Channels
from intake.parsing import FieldError, SubmissionDraft
from intake.parsing.prose import FROM_NAME, FROM_SIGNATURE, FROM_TEXT
from intake.pipeline.kinds import query as queries
from intake.pipeline.kinds import submission as submissions
from intake.pipeline.kinds.change_rules import brief, change_rows
from intake.pipeline.kinds.reply_views import nomination_incomplete, submission_context, which_offer
from intake.pipeline.run import World
from intake.render import Renderer
from intake.reports.reply_data import deadline_view, errors_view, form_view, leads_view, nomination_view, when
from intake.runtime.settings import DEFAULT_CONFIG_DIR, DEFAULT_TEMPLATES_DIR, Settings
from intake.team import board
from intake.team import desk as desks
from intake.team.desk import TeamDesk
from slack_support.blockkit import message_problems, view_problems
from workspace.web_app import team_app
from workspace.message_view import shown
from workspace.pages import entries_context, needs_sections

# Deterministic, and quick: each family of templates gets this many generated cases.
FAMILY = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# A whole digest or database per case takes minutes to shrink: a failure is shown as found.
LARGE = settings(FAMILY, phases=[Phase.explicit, Phase.generate])
PAGES = settings(LARGE, max_examples=25, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])

CAMPAIGN: Campaign = load_campaign(DEFAULT_CONFIG_DIR / "campaign.toml")
COUNCILS: CouncilRegister = load_councils(DEFAULT_CONFIG_DIR / "councils.csv")
RENDERER = Renderer(DEFAULT_TEMPLATES_DIR, filters=SLACK_FILTERS)
INTAKE = "eoi@cib.test"
START = datetime(2027, 4, 26, 8, 0, tzinfo=timezone.utc)


# --- generated text -----------------------------------------------------------------------

# Markup of every channel (HTML, Slack's mrkdwn and its <...> links and mentions, Jinja's
# own syntax), line breaks, and names as people write them.
FRAGMENTS = [
    "<x-evil>", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</td></tr>", "<!channel>",
    "<@U0EVIL1>", "<http://evil.test|click>", "@here", "&amp;", "&lt;b&gt;", "Tom & Jerry", "*bold*", "_it_",
    "`code`", "~s~", "```", "> quote", "{{ x }}", "{% if %}", "%s", "\\", "|", "\n", "\r\n", "\n\nSubject: x",
    "\t", "  ", "O'Neil", '"q"', "Zoë Ó Súilleabháin", "Đặng Thị Mỹ", "محمد عبد الله", "王秀英", "Анна-Мария",
    "שרה לוי", "Ἀλέξανδρος", "\u202e", "\u200b", "\ufeff", "🙂", "—", "…",
]
names = st.one_of(
    st.just(""),
    st.sampled_from(FRAGMENTS),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), min_size=1, max_size=6).map("".join),
    # Very long: a name or a paragraph of thousands of characters, spaced and not.
    st.builds(lambda piece, count: piece * count, st.sampled_from(["Ἀλέξανδρος ", "王", "x&<", "Zoë-"]),
              st.integers(100, 1200)),
).filter(lambda text: "None" not in text)  # a rendered None is a fault; data never says it
maybe = lambda strategy: st.one_of(st.none(), strategy)  # noqa: E731
addresses = st.one_of(st.sampled_from(["jo@camden.gov.uk", "x@gmail.com", "a.b@leeds.gov.uk"]), names)
slack_users = st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True)
moments = st.integers(0, 60 * 24 * 50).map(lambda minutes: START + timedelta(minutes=minutes))
council_codes = st.one_of(st.sampled_from([c.code for c in COUNCILS]), st.just("E99999999"))  # one since removed
offers = st.sampled_from([o.key for o in CAMPAIGN.offers])
roles = st.sampled_from([r.key for r in CAMPAIGN.nomination.roles])
regions = st.sampled_from(REGIONS)
channels = st.sampled_from(["email", "slack"])


def _reference(prefix: str, n: int) -> str:
    return f"{prefix}-{n:04d}"


# --- generated rows -----------------------------------------------------------------------


def _value(kind: str) -> st.SearchStrategy[Any]:
    if kind == "council":
        return st.one_of(council_codes, names)
    if kind == "councils":  # a cluster: a list of codes, or what an older version stored
        return st.one_of(st.lists(council_codes, max_size=8), names)
    if kind == "integer":
        return st.one_of(st.integers(-5, 10**9), names)
    return names


@st.composite
def field_values(draw: st.DrawFn, offer_key: str) -> dict[str, Any]:
    """What a submission's `fields` may hold: each field present or not, None or empty."""
    values: dict[str, Any] = {}
    for spec in CAMPAIGN.fields_for(CAMPAIGN.offer(offer_key)):
        if draw(st.booleans()):
            values[spec.key] = draw(st.one_of(st.none(), st.just(""), _value(spec.type)))
    return values


@st.composite
def submission_rows(draw: st.DrawFn, n: int = 1, offer: str | None = None) -> Submission:
    key = offer or draw(offers)
    received = draw(moments)
    return Submission(
        id=n, reference=_reference(CAMPAIGN.offer(key).reference_prefix, n), offer=key,
        council_code=draw(council_codes), contact_name=draw(names), contact_email=draw(addresses),
        sender=draw(maybe(addresses)), channel=draw(channels), received_at=received, updated_at=received,
        late=draw(st.booleans()), late_accepted=draw(st.booleans()), verified=draw(st.booleans()),
        status=draw(st.sampled_from(["active", "active", "withdrawn", "superseded", "rejected"])),
        fields=draw(field_values(key)), inbound_id=None,
        decision=draw(st.sampled_from([None, "accepted", "declined", "waitlisted"])),
        place=draw(maybe(st.integers(1, 30))),
    )


@st.composite
def nomination_rows(draw: st.DrawFn, n: int = 1, reference: int | None = None) -> Nomination:
    return Nomination(
        id=n, reference=_reference("RL", reference or n), region=draw(regions), role=draw(roles), name=draw(names),
        council_code=draw(maybe(council_codes)), email=draw(maybe(addresses)), sender=draw(maybe(addresses)),
        channel=draw(channels), received_at=draw(moments), late=draw(st.booleans()),
        late_accepted=draw(st.booleans()), verified=draw(st.booleans()), current=draw(st.booleans()), inbound_id=None,
    )


def numbered(strategy: Any, *, max_size: int) -> st.SearchStrategy[list[Any]]:
    """Rows with distinct ids and references (the database's own promise)."""
    return st.integers(0, max_size).flatmap(lambda count: st.tuples(*[strategy(n + 1) for n in range(count)]).map(list))


def nomination_groups(max_size: int) -> st.SearchStrategy[list[Nomination]]:
    """Nominations as they are kept: one reference naming one to three roles of a region."""
    @st.composite
    def group(draw: st.DrawFn, n: int) -> list[Nomination]:
        people = draw(st.lists(nomination_rows(n, reference=n), min_size=1, max_size=3, unique_by=lambda p: p.role))
        region = people[0].region
        for m, person in enumerate(people):
            person.id, person.region = n * 10 + m, region
        return people

    return numbered(group, max_size=max_size).map(lambda groups: [p for g in groups for p in g])


@st.composite
def inbound_rows(draw: st.DrawFn, n: int = 1) -> InboundMessage:
    return InboundMessage(
        id=n, channel=draw(channels), external_id=f"m{n}", sender=draw(maybe(addresses)), subject=draw(names),
        raw=draw(names).encode("utf-8", "surrogatepass"), meta={}, received_at=draw(moments),
        status=draw(st.sampled_from(["received", "processed", "ignored", "held", "failed", "refused"])),
        classification=draw(maybe(st.sampled_from(["submission", "nomination", "query", "enquiry", "amend",
                                                   "withdraw", "automatic", "made-up-kind"]))),
        detail=draw(maybe(st.one_of(names, st.just("rate limit: 50/60"), st.just("delivery status notification")))),
        authentication=None,
    )


@st.composite
def enquiry_rows(draw: st.DrawFn, n: int = 1) -> Enquiry:
    return Enquiry(id=n, sender=draw(maybe(addresses)), channel=draw(channels), text=draw(names),
                   received_at=draw(moments), inbound_id=None)


@st.composite
def confirmation_rows(draw: st.DrawFn, n: int = 1) -> Confirmation:
    created = draw(moments)
    return Confirmation(
        id=n, token=f"t{n}", inbound_id=1, target=f"draft:{n}", reference=draw(maybe(st.just(_reference("PBR", n)))),
        contact=draw(addresses), requester=draw(maybe(addresses)), summary=draw(names), created_at=created,
        expires_at=created + EXPIRY, status="pending", waits_for=draw(st.sampled_from(["contact", "team"])),
    )


@st.composite
def outbound_rows(draw: st.DrawFn, n: int = 1) -> OutboundMessage:
    return OutboundMessage(
        id=n, send_key=f"k{n}", kind=draw(st.sampled_from(["reply-ack", "reminder", "digest", "notice", "odd_kind-x"])),
        channel=draw(channels), recipient=draw(addresses), subject=draw(names), body=b"", created_at=draw(moments),
        status="failed", attempts=draw(st.integers(0, 9)), error=draw(maybe(names)),
    )


# --- what the service builds from them ----------------------------------------------------


def world(now: datetime) -> World:
    return World(campaign=CAMPAIGN, councils=COUNCILS, clock=lambda: now, channels=Channels(), intake_address=INTAKE)


def common(draw: st.DrawFn, *, confirm_days: bool = True) -> dict[str, Any]:
    """`common_context` (the pipeline's) or `telling._common` (the team's, without confirm_days)."""
    sender = draw(maybe(addresses))
    council = COUNCILS.by_email(sender)
    context = {
        "campaign_name": CAMPAIGN.campaign.name, "team_name": CAMPAIGN.campaign.team_name, "intake_address": INTAKE,
        "sender": sender, "sender_council": council.name if council else None, "channel": draw(channels),
        "subject": draw(names),
    }
    if confirm_days:
        context["confirm_days"] = EXPIRY.days
    if draw(st.booleans()):  # questions asked in passing (keep_questions)
        context["questions"] = draw(st.lists(names, min_size=1, max_size=3))
    return context


def errors(draw: st.DrawFn, keys: list[str]) -> list[FieldError]:
    return [FieldError(draw(st.sampled_from(keys)), draw(names), tuple(draw(st.lists(names, max_size=3))))
            for _ in range(draw(st.integers(0, 3)))]


def full_view(draw: st.DrawFn, w: World, s: Submission, now: datetime, *, changes: dict[str, Any]) -> dict[str, Any]:
    """A submission as one who may see it is shown it (`submission_context`)."""
    view = submission_context(w, s, now, changes)
    offer = CAMPAIGN.offer(s.offer)
    sources = {key: draw(st.sampled_from([FROM_TEXT, FROM_SIGNATURE, FROM_NAME]))
               for key in draw(st.lists(st.sampled_from([f.key for f in CAMPAIGN.fields_for(offer)]), max_size=3))}
    view["inferred"] = submissions._inferred(w, offer, dict(s.fields), sources)
    if offer.capacity and draw(st.booleans()):
        view["entries"] = draw(st.integers(0, 60))
    return view


def seen(draw: st.DrawFn, w: World, s: Submission, now: datetime, changes: dict[str, Any]) -> dict[str, Any]:
    """Full to whoever may see it, `brief` (nothing personal) to anyone else."""
    return full_view(draw, w, s, now, changes=changes) if draw(st.booleans()) else brief(w, s)


def held_view(draw: st.DrawFn, w: World, s: Submission, *, shapes: tuple[str, ...]) -> dict[str, Any]:
    """A change held back, as each kind holds one: on an entry (`brief`; an amendment's
    move to another council waits for the team), on a region's lead (a nomination), or on
    someone else's draft; `ask_contacts` may add why it was not asked."""
    offer = CAMPAIGN.offer(s.offer)
    shape = draw(st.sampled_from(shapes))
    view: dict[str, Any] = {
        "entry": lambda: brief(w, s),
        "move": lambda: {**brief(w, s), "hold": "team"},
        "lead": lambda: {"reference": _reference("RL", 1), "region": draw(regions),
                         "role": CAMPAIGN.nomination.role_title(draw(roles)), "offer_title": CAMPAIGN.nomination.title},
        "draft": lambda: {"reference": None, "offer_title": offer.title, "offer_short_title": offer.short_title,
                          "council": ""},
    }[shape]()
    if shape != "move" and draw(st.booleans()):
        view["hold"] = draw(st.sampled_from(["waiting", "busy"]))
    return view


def incomplete_item(draw: st.DrawFn, w: World, now: datetime, sender: str | None) -> dict[str, Any]:
    """What `submission.file` and `nomination.file` say is missing: for an offer, for no
    offer known (`which_offer`), or for a nomination."""
    offer = CAMPAIGN.offer(draw(offers))
    values = draw(field_values(offer.key))
    keys = [f.key for f in CAMPAIGN.fields_for(offer)] + ["offer", "region", "lead-dcs.email"]
    shape = draw(st.sampled_from(["offer", "which", "nomination"]))
    if shape == "which":
        run = SimpleNamespace(world=w, sender=sender)
        return which_offer(run, SubmissionDraft(offer="", values=values, errors=errors(draw, keys)))
    if shape == "nomination":
        return nomination_incomplete(w, errors(draw, keys), now)
    return {
        "offer": offer.key, "offer_title": offer.title, "offer_short_title": offer.short_title,
        "errors": errors_view(errors(draw, keys), CAMPAIGN, offer),
        "form": form_view(CAMPAIGN, offer, values, COUNCILS),
        "deadline": deadline_view(offer, CAMPAIGN, now),
    }


def nomination_item(
    draw: st.DrawFn, people: list[Nomination], others: list[Nomination], now: datetime
) -> dict[str, Any]:
    region = people[0].region
    view = nomination_view(people[0].reference, region, people, people + others, CAMPAIGN, COUNCILS, now)
    view["errors"] = errors_view(errors(draw, ["region", "lead-dcs.email", "lead-member"]), CAMPAIGN, None)
    return view


@st.composite
def receipts(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """What one message filed (`Receipt`), of the kind `Receipt.kind` says: "ack" (something
    recorded), "missing" (something incomplete) or "held" (only held back)."""
    now = draw(moments)
    w = world(now)
    context = common(draw)
    recorded, updated, held, nominations, incomplete = [], [], [], [], []
    for s in draw(numbered(submission_rows, max_size=3)):
        what = draw(st.sampled_from(["recorded", "updated", "held"] if kind == "ack" else ["held"]))
        if what == "recorded":
            recorded.append(full_view(draw, w, s, now, changes={}))
        elif what == "updated":
            changes = {k: [draw(maybe(names)), v] for k, v in s.fields.items() if draw(st.booleans())}
            view = seen(draw, w, s, now, changes)
            view.setdefault("changes", [])
            updated.append(view)
        else:
            held.append(held_view(draw, w, s, shapes=("entry", "lead")))
    if kind == "ack":
        people = draw(nomination_groups(2))
        by_reference: dict[str, list[Nomination]] = {}
        for person in people:
            by_reference.setdefault(person.reference, []).append(person)
        nominations = [nomination_item(draw, group, people, now) for group in by_reference.values()]
        if not (recorded or updated or nominations):
            recorded.append(full_view(draw, w, draw(submission_rows()), now, changes={}))
    if kind != "held":
        count = draw(st.integers(1 if kind == "missing" else 0, 2))
        incomplete = [incomplete_item(draw, w, now, context["sender"]) for _ in range(count)]
    elif not held:
        held.append(held_view(draw, w, draw(submission_rows()), shapes=("entry", "lead")))
    return {**context, "recorded": recorded, "updated": updated, "incomplete": incomplete,
            "nominations": nominations, "held": held}


@st.composite
def changes_asked(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """The amend and withdraw kinds' replies ("amended", "withdrawn", "refused", "held"),
    and the held kind's own (completing someone else's draft)."""
    now = draw(moments)
    w = world(now)
    context = common(draw)
    asked = draw(st.sampled_from(["amend", "withdraw", "draft"] if kind == "held" else ["amend", "withdraw"]))
    asked = {"amended": "amend", "withdrawn": "withdraw"}.get(kind, asked)
    if asked == "draft":
        return {**context, "held": [held_view(draw, w, draw(submission_rows()), shapes=("draft",))]}
    done, held, refused = [], [], []
    unknown = draw(st.lists(st.from_regex(r"(PBR|EA|CCS|RL|XX)-\d{1,5}", fullmatch=True), max_size=2))
    outcomes = {"amended": ["done", "held", "refused"], "withdrawn": ["done", "held", "refused"],
                "held": ["held", "refused"], "refused": ["refused"]}[kind]
    # Nothing done, held or refused: the references named were unknown.
    rows = draw(numbered(submission_rows, max_size=3)) if kind == "refused" else draw(
        numbered(submission_rows, max_size=3).filter(bool))
    for n, s in enumerate(rows):
        what = outcomes[0] if n == 0 else draw(st.sampled_from(outcomes))  # the first makes the kind
        if what == "held":
            held.append(held_view(draw, w, s, shapes=("entry", "move") if asked == "amend" else ("entry",)))
        elif what == "refused":
            refused.append(brief(w, s))
        elif asked == "withdraw":
            done.append(seen(draw, w, s, now, {}))
        else:
            changes = {k: [draw(maybe(names)), v] for k, v in s.fields.items() if draw(st.booleans())}
            view = seen(draw, w, s, now, changes)
            view["changes"] = list(changes)
            offer = CAMPAIGN.offer(s.offer)
            view["errors"] = errors_view(errors(draw, [f.key for f in CAMPAIGN.fields_for(offer)]), CAMPAIGN, offer)
            if view["rows"]:  # shown in full to whoever may see it
                view["form"] = form_view(CAMPAIGN, offer, s.fields, COUNCILS)
            done.append(view)
    key = "withdrawn" if asked == "withdraw" else "amended"
    return {**context, key: done, "held": held, "refused": refused, "unknown": unknown}


@st.composite
def answers(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """The query kind's answers, the enquiry's, and the confirmation kind's."""
    now = draw(moments)
    w = world(now)
    context = common(draw)
    targets = [deadline_view(t, CAMPAIGN, now) for t in CAMPAIGN.targets()]
    if kind == "deadline":
        return {**context, "target": draw(st.sampled_from(targets))}
    if kind in ("deadlines", "help"):
        return {**context, "targets": targets, **({"team": True} if draw(st.booleans()) else {})}
    if kind == "form":
        key = draw(st.sampled_from([None, CAMPAIGN.nomination.key, *[o.key for o in CAMPAIGN.offers]]))
        return {**context, "forms": queries._forms(w, key, context["sender"])}
    if kind == "leads":
        region = draw(maybe(regions))
        people = draw(nomination_groups(6))
        grid = leads_view([p for p in people if region in (None, p.region)], CAMPAIGN, COUNCILS,
                          [region] if region else REGIONS)
        return {**context, "region": region, "grid": grid}
    if kind == "status":
        council = draw(maybe(st.sampled_from(list(COUNCILS))))
        if council is None:
            return {**context, "council": None, "submissions": [], "leads": None}
        rows = draw(numbered(submission_rows, max_size=4))
        people = draw(nomination_groups(3))
        answered = {s.offer for s in rows if s.status == "active"}
        return {
            **context, "council": council.name, "region": council.region,
            "submissions": [submission_context(w, s, now, {}) for s in rows],
            "not_yet": [deadline_view(o, CAMPAIGN, now) for o in CAMPAIGN.offers if o.key not in answered],
            "leads": leads_view(people, CAMPAIGN, COUNCILS, [council.region])[0],
        }
    if kind == "enquiry":
        return {**context, "text": draw(names), "elsewhere": draw(st.one_of(st.just(""), names))}
    if kind == "confirm_unknown":
        return context
    found = draw(confirmation_rows())
    return {**context, "reference": found.reference, "summary": found.summary, "days": EXPIRY.days,
            "expires": when(found.expires_at, CAMPAIGN)}


@st.composite
def told(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """What the team's actions tell the sender (`TeamDesk`, `Triage`), through `tell`."""
    now = draw(moments)
    w = world(now)
    context = common(draw, confirm_days=False)
    context.pop("questions", None)
    desk = TeamDesk(None, w)  # type: ignore[arg-type]  # its views read the world only
    found: Submission | list[Nomination] = draw(st.one_of(submission_rows(), nomination_groups(1).filter(bool)))
    entry = desk._view(found)
    if kind == "answer":  # the desk sends no empty answer
        return {**context, "answer": draw(names.filter(str.strip)).strip(), "asked": desks._gist(draw(names))}
    if kind == "verified":
        return {**context, "entry": entry}
    if kind == "rejected":
        reason = draw(names.filter(str.strip))  # the desk refuses an empty one
        return {**context, "entry": entry, "reason": reason.strip()}
    if kind == "late_accepted":
        return {**context, "entry": {"reference": entry["reference"]}}
    if kind == "team_refused":
        return {**context, "reference": _reference("EA", 1), "summary": draw(names)}
    submission = draw(submission_rows())
    return {**context, "entry": desk._view(submission),
            "decision": draw(st.sampled_from(["accepted", "declined", "waitlisted"])),
            "note": draw(names), "capacity": CAMPAIGN.offer(submission.offer).capacity}


# Every kind of reply, with what makes its context.
REPLIES: dict[str, Any] = {
    **{kind: receipts for kind in ("ack", "missing")},
    **{kind: changes_asked for kind in ("amended", "withdrawn", "refused", "held")},
    **{kind: answers for kind in ("deadline", "deadlines", "help", "form", "leads", "status", "enquiry",
                                   "confirm_unknown", "confirm_used", "confirm_expired", "confirm_declined",
                                   "confirm_unclear", "confirmed")},
    **{kind: told for kind in ("answer", "verified", "rejected", "decision", "late_accepted", "team_refused")},
}
# "held" comes from a receipt too (only held back), as well as from a change asked for.
HELD = st.one_of(receipts("held"), changes_asked("held"))


def reply_contexts(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return HELD if kind == "held" else REPLIES[kind](kind)


@st.composite
def confirmation_requests(draw: st.DrawFn) -> dict[str, Any]:
    """`confirm._request`'s context: the held view, what would change, who asked."""
    now = draw(moments)
    w = world(now)
    s = draw(submission_rows())
    view = held_view(draw, w, s, shapes=("entry", "lead", "draft"))
    view.pop("hold", None)
    values = draw(field_values(s.offer))
    if draw(st.booleans()):  # the asker's own address, as `apply_defaults` fills it in
        values["contact_email"] = draw(addresses)
    changes = change_rows(w, s, values)
    # A change of contact email changes who controls the entry (or the draft); the
    # council's listed contacts hear of it too, on an entry.
    control = any(c["key"] == "contact_email" for c in changes)
    listed = control and bool(view["reference"]) and "council" in view and draw(st.booleans())
    return {
        **view, "summary": draw(names), "changes": changes, "control": control, "listed": listed,
        "requester": draw(maybe(addresses)), "requester_proven": draw(st.booleans()),
        "channel": draw(channels), "expires": when(now + EXPIRY, CAMPAIGN), "token": new_token(),
        "campaign_name": CAMPAIGN.campaign.name, "team_name": CAMPAIGN.campaign.team_name, "intake_address": INTAKE,
    }


# --- what may come out -----------------------------------------------------------------------


def _template_markup() -> tuple[set[str], set[str]]:
    """Every tag and attribute name the HTML templates write: anything else came from data."""
    tags, attributes = {"html", "head", "body"}, set()
    for path in Path(DEFAULT_TEMPLATES_DIR).rglob("*.html.j2"):
        source = path.read_text(encoding="utf-8")
        tags |= {t.lower() for t in re.findall(r"</?([a-zA-Z][a-zA-Z0-9-]*)", source)}
        attributes |= {a.lower() for a in re.findall(r"\s([a-zA-Z][a-zA-Z0-9:-]*)=", source)}
        attributes |= {a.lower() for a in re.findall(
            r"\s(autofocus|checked|selected|novalidate|hidden|open|disabled|required|download)\b", source)}
    return tags, attributes


TAGS, ATTRIBUTES = _template_markup()


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.faults: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.faults.append(f"a <{tag}> from data")
        self.faults += [f"{name}= on <{tag}> from data" for name, _ in attrs if name not in ATTRIBUTES]


def html_faults(html: str) -> list[str]:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.faults + none_faults(html)


def none_faults(text: str) -> list[str]:
    """A None shown as "None" (the templates' own "None." ends a paragraph or a cell)."""
    return [f"None shown: …{text[max(0, m.start() - 40):m.end() + 20]!r}…"
            for m in re.finditer(r"\bNone\b(?!\.</)", text)]


# Our own markup in mrkdwn: a mention we make, the placeholders of the help's commands,
# and a quote (a line that starts with ">").
OURS = re.compile(r"<@[UW][A-Z0-9]+>|<(?:offer|reference|region|reason)>|^>", re.MULTILINE)


def mrkdwn_texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from mrkdwn_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from mrkdwn_texts(value)


def mrkdwn_faults(message: dict[str, Any]) -> list[str]:
    """Slack parses `&`, `<` and `>` in mrkdwn (and in a message's notification text):
    from data they must arrive as entities."""
    faults = []
    for text in [str(message.get("text") or ""), *mrkdwn_texts(message.get("blocks") or [])]:
        if m := re.search(r"&(?!amp;|lt;|gt;)", text):
            faults.append(f"a bare & in mrkdwn: …{text[max(0, m.start() - 30):m.end() + 30]!r}…")
        if m := re.search(r"<|>", OURS.sub("", text)):
            faults.append(f"a bare {m.group()} in mrkdwn: …{text[max(0, m.start() - 30):m.end() + 30]!r}…")
    return faults + none_faults(json.dumps(message, ensure_ascii=False))


def email_faults(kind: str, context: dict[str, Any], *, reply_to: str | None = None) -> list[str]:
    """A reply's text and HTML, its subject, and the message as it is composed."""
    text, html = RENDERER.email(kind, context)
    subject = RENDERER.email_subject(kind, context)
    if reply_to is not None:
        subject = reply_subject(reply_to, subject)
    faults = none_faults(text) + html_faults(html) + none_faults(subject)
    if re.search(r"[\r\n]", subject):
        faults.append(f"a line break in the subject {subject!r}")
    compose(to="jo@camden.gov.uk", subject=subject, text=text, html=html, from_address=f"CIB intake <{INTAKE}>",
            now=START).as_bytes()
    return faults


def slack_faults(kind: str, context: dict[str, Any]) -> list[str]:
    message = RENDERER.slack(kind, context)
    faults = mrkdwn_faults(message)
    for page in pages(message):
        faults += message_problems(page)
    return faults


# --- replies -----------------------------------------------------------------------------------

# Why a change was not asked about, or waits for the team, as each reply says it.
HELD_BECAUSE = {"team": "decides it should", "waiting": "is already waiting for confirmation",
                "busy": "several changes today"}


@pytest.mark.parametrize("kind", sorted(REPLIES))
@FAMILY
@given(data=st.data())
def test_every_reply(kind: str, data: st.DataObject) -> None:
    """By email (with the attachments the message had) and in Slack (where the kind has a
    template; any kind falls back to one)."""
    context = data.draw(reply_contexts(kind))
    read, unread = data.draw(st.lists(names, max_size=3)), data.draw(st.lists(st.tuples(names, names), max_size=2))
    attachments = {"read": read, "unread": [{"name": name, "problem": problem} for name, problem in unread]}
    mail = {**context, "attachments": attachments}
    assert email_faults(kind, mail, reply_to=data.draw(st.one_of(st.just(""), names))) == []
    # The HTML part (its own layout for some kinds) says what the text says of a held change.
    text, html = RENDERER.email(kind, mail)
    for h in context.get("held", []):
        phrase = HELD_BECAUSE.get(h.get("hold", ""))
        if phrase:
            assert (phrase in text) == (phrase in html), (phrase, kind)
    if RENDERER.has(f"slack/{kind}.json.j2"):  # the confirmations' are email's alone
        assert slack_faults(kind, context) == []
    assert slack_faults("fallback", {"kind": kind, **context}) == []


@FAMILY
@given(st.one_of(st.just("/team/"), names))
def test_the_sign_in_email(next_page: str) -> None:
    """`workspace.sign_in._send`'s context: the link carries the page to go back to."""
    link = f"http://127.0.0.1:3000/team/sign-in/{new_token()}"
    if next_page != "/team/":
        link += f"?next={quote(next_page, safe='')}"
    context = {"team_name": CAMPAIGN.campaign.team_name, "campaign_name": CAMPAIGN.campaign.name, "link": link,
               "intake_address": INTAKE, "expires": when(START, CAMPAIGN)}
    assert email_faults("sign_in", context) == []


@FAMILY
@given(confirmation_requests())
def test_a_confirmation_request(context: dict[str, Any]) -> None:
    assert email_faults("confirm_request", context) == []


@st.composite
def audit_details(draw: st.DrawFn) -> dict[str, Any]:
    """An audit entry's detail, in each shape the service records, or one from an older version."""
    shape = draw(st.integers(0, 9))
    offer = draw(offers)
    if shape == 0:  # created
        return {"fields": draw(field_values(offer)), "late": draw(st.booleans()), "verified": draw(st.booleans())}
    if shape == 1:  # amended: {field: [old, new]}
        changes = {k: [draw(maybe(_value("text"))), v] for k, v in draw(field_values(offer)).items()}
        return {"changes": changes, "via": "resubmission", **({"verified": False} if draw(st.booleans()) else {})}
    if shape == 2:  # nominated
        return {"region": draw(regions), "role": draw(st.one_of(roles, names)), "name": draw(names)}
    if shape == 3:  # held
        return {"summary": draw(names), "contact": draw(addresses), "sender": draw(names),
                **({"told": draw(names)} if draw(st.booleans()) else {})}
    if shape == 4:  # confirmed, declined
        return {"summary": draw(names), "requester": draw(maybe(addresses))}
    if shape == 5:  # rejected, answered
        return {"by": "the CIB team", draw(st.sampled_from(["reason", "answer"])): draw(names)}
    if shape == 6:  # decided
        return {"by": "the CIB team", "decision": draw(st.sampled_from(["accepted", "declined", "waitlisted"])),
                "note": draw(names), "place": draw(maybe(st.integers(1, 30)))}
    if shape == 7:
        return {}
    return draw(st.dictionaries(st.one_of(st.sampled_from(list(board.DETAILS)), names),
                                st.one_of(st.none(), names, st.integers(), st.lists(names, max_size=3),
                                          st.dictionaries(names, names, max_size=2)), max_size=4))


# --- the digest and the reminders ---------------------------------------------------------------


REFERENCE = re.compile(r"\b(?:EA|PBR|CCS|RL)-\d{4}\b")


@st.composite
def digest_facts(draw: st.DrawFn) -> digests.DigestFacts:
    now = draw(moments)
    messages = draw(numbered(inbound_rows, max_size=6))
    return digests.DigestFacts(
        now=now, since=now - timedelta(days=draw(st.integers(0, 40))),
        submissions=draw(numbered(submission_rows, max_size=20)), nominations=draw(nomination_groups(8)),
        messages=messages, unprocessed=[m for m in messages if m.status in ("received", "failed")],
        enquiries=draw(numbered(enquiry_rows, max_size=20)),
        senders=draw(st.lists(addresses, max_size=5)), held=draw(numbered(confirmation_rows, max_size=20)),
        undelivered=draw(numbered(outbound_rows, max_size=20)),
    )


@LARGE
@given(digest_facts())
def test_the_digest(facts: digests.DigestFacts) -> None:
    context = digests.digest_context(facts, CAMPAIGN, COUNCILS, INTAKE)
    text, html = RENDERER.email(digests.KIND, context)
    assert none_faults(text) + html_faults(html) + none_faults(context["subject"]) == []
    assert "\n" not in context["subject"]
    assert slack_faults(digests.KIND, context) == []
    # However long the lists, Slack names every entry the email names (split, never cut).
    slack = json.dumps(RENDERER.slack(digests.KIND, context))
    assert set(REFERENCE.findall(slack)) == set(REFERENCE.findall(text))


@st.composite
def reminder_cases(draw: st.DrawFn) -> dict[str, Any]:
    """One reminder of a slot, as `reminder_context` makes it from what was received."""
    slot = draw(st.sampled_from(plan.reminder_slots(CAMPAIGN)))
    now = slot.at
    rows = draw(numbered(submission_rows, max_size=12))
    facts = plan.Facts(
        submissions=submission_facts(rows, CAMPAIGN),
        nominations=[plan.NominationFact(region=n.region, role=n.role, name=n.name, council_code=n.council_code,
                                         sender=n.sender) for n in draw(nomination_groups(6))],
    )
    pending = plan.outstanding(CAMPAIGN, COUNCILS, slot, facts.submissions, facts.nominations)
    codes = draw(st.lists(st.sampled_from(sorted(pending.offers)), max_size=40, unique=True)) if pending.offers else []
    areas = draw(st.lists(st.sampled_from(sorted(pending.roles)), max_size=9, unique=True)) if pending.roles else []
    if not (codes or areas):
        codes = sorted(pending.offers)[:1] or []
        areas = [] if codes else sorted(pending.roles)[:1]
    channel = draw(channels)
    recipient = "jo@camden.gov.uk" if channel == "email" else "C0REGION"
    reminder = plan.Reminder(slot=slot, channel=channel, recipient=recipient,
                             councils=tuple(codes), regions=tuple(areas))
    return plan.reminder_context(reminder, pending, facts, campaign=CAMPAIGN, councils=COUNCILS, now=now,
                                 intake_address=INTAKE)


@FAMILY
@given(reminder_cases())
def test_a_reminder(context: dict[str, Any]) -> None:
    if context["channel"] == "slack":
        assert slack_faults(plan.KIND, context) == []
    else:
        assert email_faults(plan.KIND, context) == []


# --- the bot's own messages and modals ---------------------------------------------------------


BOT_MESSAGES = ["choose_offer", "command_received", "edited", "export_ready", "failed", "hint", "in_channel",
                "modal_failed", "not_allowed", "team_acted", "team_audit", "team_done", "team_notice", "team_only"]


@st.composite
def bot_messages(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """What bot/*.py hands the Slack templates of its own: notices, the team's actions,
    the audit trail, hints."""
    now = draw(moments)
    team = {"team_name": CAMPAIGN.campaign.team_name}
    if kind == "choose_offer":
        return {"targets": [deadline_view(t, CAMPAIGN, now) for t in CAMPAIGN.targets()]}
    if kind == "export_ready":
        return {key: draw(st.integers(0, 10**6)) for key in ("submissions", "nominations", "enquiries")}
    if kind == "failed":
        return {"kept": draw(st.booleans()), **team}
    if kind == "hint":
        return {"text": draw(names)}
    if kind == "in_channel":
        return {"user": draw(slack_users)}
    if kind == "modal_failed":
        return {"offer": draw(st.one_of(offers, names))}
    if kind == "not_allowed":
        return {"command": draw(st.one_of(st.sampled_from(["digest", "export", "verify"]), names)), **team}
    if kind == "team_acted":
        return {"action": draw(st.sampled_from(["verified", "rejected"])), "user": draw(slack_users),
                      "reason": draw(names), "told": draw(st.booleans())}
    if kind == "team_audit":
        reference = draw(st.sampled_from(["PBR-0001", "RL-0002"]))
        trail = [AuditEntry(id=n, at=draw(moments), reference=reference, entity="submission",
                            actor=draw(maybe(st.one_of(addresses, slack_users.map(lambda u: f"slack:{u}")))),
                            action=draw(st.one_of(st.sampled_from(list(board.ACTIONS)), names)),
                            detail=draw(audit_details()))
                 for n in range(draw(st.integers(0, 25)))]
        return audit_view(reference, trail, SimpleNamespace(campaign=CAMPAIGN, councils=COUNCILS))
    if kind == "team_done":
        return {"message": draw(names), "ok": draw(st.booleans()), "told": draw(st.booleans()),
                      "changed": draw(st.booleans())}
    if kind == "team_notice":
        context = {"notice": draw(names), "via": draw(maybe(slack_users))}
        if draw(st.booleans()):
            context["unverified"] = draw(st.lists(st.sampled_from(["PBR-0001", "EA-0012", "RL-0003"]), min_size=1,
                                                  max_size=3, unique=True))
        return context
    if kind == "team_only":
        return {"action": draw(st.sampled_from(["verify", "reject"])), **team}
    return {}


@pytest.mark.parametrize("kind", BOT_MESSAGES)
@FAMILY
@given(data=st.data())
def test_the_bots_own_messages(kind: str, data: st.DataObject) -> None:
    assert slack_faults(kind, data.draw(bot_messages(kind))) == []


@st.composite
def modals(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """The modals, prefilled from a Slack profile (a name of any length or script)."""
    council = draw(maybe(st.sampled_from(list(COUNCILS))))
    prefill = Prefill(email=draw(maybe(addresses)), name=draw(maybe(names)), council=council)
    deadline = when(CAMPAIGN.deadline(CAMPAIGN.nomination.key), CAMPAIGN)
    metadata = {"origin": draw(st.text(max_size=40))}
    if kind == "modal_offer":
        return offer_modal_context(CAMPAIGN, draw(offers), prefill=prefill, deadline=deadline, metadata=metadata)
    if kind == "modal_nomination":
        return nomination_modal_context(CAMPAIGN, prefill=prefill, deadline=deadline, metadata=metadata)
    return {"reference": draw(st.sampled_from(["PBR-0001", "RL-0012"])), "callback_id": "team_reject",
            "private_metadata": json.dumps(metadata)}


@pytest.mark.parametrize("kind", ["modal_offer", "modal_nomination", "team_reject"])
@FAMILY
@given(data=st.data())
def test_the_modals(kind: str, data: st.DataObject) -> None:
    view = RENDERER.slack(kind, data.draw(modals(kind)))
    assert view_problems({"view": view}) == []
    assert mrkdwn_faults(view) == []


# --- the workspace's pages, read from a database ---------------------------------------------


def _email_raw(sender: str, subject: str, body: str, attachment: str, failed: str = "") -> bytes:
    """A kept email as it may arrive: MIME around whatever was written (broken or not);
    a bounce names the addresses our mail did not reach."""
    bounce = f"X-Failed-Recipients: {failed}\r\n" if failed else ""
    return (f"From: {sender}\r\nSubject: {subject}\r\n{bounce}MIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
            f"{body}\r\n--b\r\nContent-Type: application/pdf\r\n"
            f'Content-Disposition: attachment; filename="{attachment}"\r\n\r\n%PDF-1.4\r\n--b--\r\n').encode()


@st.composite
def kept_messages(draw: st.DrawFn, n: int) -> InboundMessage:
    """A kept message as its channel keeps it: an email's raw bytes (or a bounce's), a
    Slack message's text and files in its meta; with what was proven of its sender."""
    row = draw(inbound_rows(n))
    if row.channel == "email" and draw(st.booleans()):  # a bounce of our mail, for the team to note
        row.status, row.classification, row.detail = "ignored", "automatic", "delivery status notification"
        failed = ", ".join(draw(st.lists(st.one_of(addresses, names.map(lambda name: f"{name}@x.test")), min_size=1,
                                         max_size=3)))
        row.sender, row.subject = "mailer-daemon@mx.camden.gov.uk", "Undelivered Mail Returned to Sender"
        row.raw = _email_raw(row.sender, row.subject, draw(names), draw(names), failed)
    elif row.channel == "email":
        row.raw = _email_raw(row.sender or "", row.subject, draw(names), draw(names))
    else:
        files = [{"name": draw(maybe(names)), "mimetype": draw(maybe(names)), "size": draw(st.integers(0, 10**7))}
                 for _ in range(draw(st.integers(0, 2)))]
        row.meta = {"text": draw(names), "files": files}
    row.authentication = draw(st.one_of(st.none(), st.fixed_dictionaries({
        "method": st.sampled_from(["authserv", "checked", "slack", "none"]), "domain": maybe(names),
        "proven": st.booleans(), "results": names})))
    return row


@st.composite
def kept_campaigns(draw: st.DrawFn) -> list[Any]:
    """Everything the workspace reads, as rows to insert: messages and the entries, drafts,
    questions, held changes, replies and audit entries they made."""
    messages = draw(numbered(kept_messages, max_size=5))
    link = st.sampled_from([None, *[m.id for m in messages]])
    entries = draw(numbered(submission_rows, max_size=6))
    taken: set[tuple[str, int]] = set()
    for s in entries:
        s.inbound_id = draw(link)
        capacity = CAMPAIGN.offer(s.offer).capacity
        if s.decision != "accepted" or not capacity or s.place is None or (s.offer, s.place) in taken:
            s.place = None  # only an accepted one holds a place, and no two the same
        else:
            taken.add((s.offer, s.place))
    people = draw(nomination_groups(3))
    came_in = {person.reference: draw(link) for person in people}  # one message names a region's leads
    for person in people:
        person.inbound_id = came_in[person.reference]
    enquiries = draw(numbered(enquiry_rows, max_size=4))
    for e in enquiries:
        e.inbound_id = draw(link)
    drafts = [IncompleteSubmission(id=n + 1, offer=offer, sender=draw(maybe(addresses)), channel=draw(channels),
                                   fields=draw(field_values(offer)), created_at=draw(moments), inbound_id=draw(link))
              for n, offer in enumerate(draw(st.lists(offers, max_size=3)))]
    held = draw(numbered(confirmation_rows, max_size=3)) if messages else []
    for c in held:
        c.inbound_id = messages[0].id
        c.reference = draw(st.sampled_from([None, *[s.reference for s in entries], *[p.reference for p in people]]))
    replies = draw(numbered(outbound_rows, max_size=4))
    for r in replies:
        r.inbound_id, r.status = draw(link), draw(st.sampled_from(["failed", "sent", "pending"]))
    references = [s.reference for s in entries] + [p.reference for p in people]
    trail = [AuditEntry(id=n + 1, at=draw(moments), actor=draw(maybe(addresses)), entity="submission",
                        action=draw(st.one_of(st.sampled_from(list(board.ACTIONS)), names)),
                        reference=draw(st.sampled_from(references)), detail=draw(audit_details()),
                        inbound_id=draw(link))
             for n in range(draw(st.integers(0, 6)))] if references else []
    places = [Place(offer=offer, slot=slot) for offer, slot in taken]
    return [*messages, *places, *entries, *people, *enquiries, *drafts, *held, *replies, *trail]


class Workspace:
    """The service over a database of its own, and the pages' templates as the workspace
    sets them up; one event loop for the whole module."""

    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        settings_ = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{folder}/pages.sqlite3",
                             outbox_dir=folder / "outbox", team_emails=["team@local.gov.uk"], intake_addresses=[INTAKE],
                             scheduler_enabled=False)
        self.runtime = create_service(settings_, clock=lambda: START + timedelta(days=30))
        self.run(open_database(self.runtime.store, settings_.database_url, create=True))
        self.env = aiohttp_jinja2.get_env(team_app(self.runtime.workspace, DEFAULT_TEMPLATES_DIR))

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(work)

    def fill(self, rows: list[Any]) -> None:
        async def work() -> None:
            async with self.runtime.store.unit() as unit:
                for table in reversed(Base.metadata.sorted_tables):
                    await unit.session.execute(table.delete())
            async with self.runtime.store.unit() as unit:
                for table in Base.metadata.sorted_tables:  # a row after those it refers to
                    unit.session.add_all([row for row in rows if row.__table__ is table])
                    await unit.session.flush()

        self.run(work())

    def page(self, name: str, context: dict[str, Any], said: str) -> str:
        """A page with what `workspace.view.common` adds to every one (a signed-in member)."""
        shown = {"ok": True, "text": said, "section": "held", "place": "the held changes"} if said else None
        every = {"user": "team@local.gov.uk", "csrf": "token", "team_name": CAMPAIGN.campaign.team_name,
                 "campaign_name": CAMPAIGN.campaign.name, "said": shown, "errors": {}, "typed": {}}
        return self.env.get_template(name).render({**every, **context})

    def close(self) -> None:
        self.run(self.runtime.store.close())
        self.loop.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    pages_ = Workspace(tmp_path_factory.mktemp("pages"))
    yield pages_
    pages_.close()


# Filters as the form sends them (mostly "Any"), or as anyone may type them into the address.
filters = st.fixed_dictionaries({key: st.one_of(st.just(""), names) for key in board.FILTERS}) | st.fixed_dictionaries({
    "kind": st.sampled_from(["", "submission", "nomination"]),
    "offer": st.sampled_from(["", *[o.key for o in CAMPAIGN.offers]]),
    "region": st.sampled_from(["", *REGIONS]), "status": st.sampled_from(["", "active", "withdrawn"]),
    "verified": st.sampled_from(["", "yes", "no"]), "late": st.sampled_from(["", "yes", "no"]),
    "decision": st.sampled_from(["", "none", "accepted"]), "q": st.one_of(st.just(""), names)})


@PAGES
@given(kept_campaigns(), filters, st.one_of(st.just(""), names))
def test_the_workspace_pages(workspace: Workspace, rows: list[Any], chosen: dict[str, str], said: str) -> None:
    workspace.fill(rows)
    service, now = workspace.runtime.service, workspace.runtime.clock()
    faults: list[str] = []

    found = workspace.run(board.entries(service))
    for filtered in (dict.fromkeys(board.FILTERS, ""), chosen):  # every entry, then those the filters keep
        for page in (1, 2, 99):  # the first page, the next (when there is one), past the last
            html = workspace.page("entries.html.j2", entries_context(found, filtered, page, CAMPAIGN.offers), said)
            faults += html_faults(html)

    for reference in sorted({row["reference"] for row in found}) + ["XX-0404"]:
        view = workspace.run(board.entry(service, reference))
        if view is None:
            html = workspace.page("not_found.html.j2", {"title": "Not found", "reference": reference}, said)
        else:
            offer = CAMPAIGN.offer(view.records[0]["offer"]) if view.kind == "submission" else None
            html = workspace.page("entry.html.j2", {
                "title": view.reference, "page": "entries", "view": view, "record": view.records[0],
                "messages": [shown(row, service) for row in view.messages], "offer": offer, "when": service.when,
                "errors": {}, "typed": {}}, said)
        faults += html_faults(html)

    waiting = workspace.run(board.needs(service, now))
    for query in ({}, dict.fromkeys((f"{key}-page" for key in waiting), "2")):  # each list's first and next page
        listed, needs_pages = needs_sections(waiting, query)
        faults += html_faults(workspace.page("needs.html.j2", {
            "title": "Needs a person", "page": "needs", "needs": waiting, "listed": listed, "pages": needs_pages,
            "offers": CAMPAIGN.offers, "councils": sorted(COUNCILS.councils, key=lambda c: c.name),
            "errors": {}}, said))

    facts = workspace.run(board.overview(service, now))
    faults += html_faults(workspace.page("overview.html.j2", {**facts, "title": "Overview", "page": "overview"}, said))

    leads = workspace.run(appendix_a(service))
    faults += html_faults(workspace.page("appendix.html.j2", {
        "title": "Appendix A: regional leads", "page": "appendix", "rows": leads}, said))
    # `cib leads --format html`: the same rows, as a document of their own.
    faults += html_faults(workspace.run(render_leads(service, "html", renderer=RENDERER, now=now)))
    assert faults == []
