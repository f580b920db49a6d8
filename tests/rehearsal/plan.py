"""A whole campaign, planned before it runs: which of the register's councils answer, which
offers, by which channel and in which shape, on which simulated day; the regions' leads;
the questions, mistakes, forgeries and automatic mail a real campaign brings. Pure and
seeded, so a failure can be run again exactly.

The driver (tests/rehearsal/driver.py) plays it through the real service. Some steps name
what they act on by council and offer ("amend Wigan's PbR entry"), since the reference is
only known once the service has answered."""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from intake.campaign.definition import Campaign
from intake.campaign.register import REGIONS, Council, CouncilRegister

LAUNCH = date(2027, 5, 4)  # the Tuesday after the Early May bank holiday
DECISIONS = date(2027, 6, 10)  # the team decides the places after the last deadline

Shape = Literal["lines", "outlook_html", "prose", "docx", "pdf", "xlsx", "slack_modal", "slack_message"]
SHAPES: tuple[Shape, ...] = ("lines", "outlook_html", "prose", "docx", "pdf", "xlsx", "slack_modal", "slack_message")

FIRST_NAMES = ["Amira", "Ben", "Chloe", "Dev", "Ellen", "Farid", "Grace", "Harry", "Ines", "Jon", "Kemi", "Liam",
               "Maya", "Niall", "Orla", "Priya", "Quentin", "Rosa", "Sam", "Tariq", "Una", "Vikram", "Wen", "Zoë"]
LAST_NAMES = ["Adebayo", "Brennan", "Chowdhury", "Dawson", "Evans", "Fitzgerald", "Gallagher", "Hughes", "Iqbal",
              "Jones", "Kowalski", "Lewis", "McAllister", "Nwosu", "O'Neill", "Patel", "Quinn", "Robinson",
              "Sørensen", "Thompson", "Ure", "Virdi", "Whitfield", "Young"]
ROLES = ["Director of Children's Services", "Assistant Director, Early Help", "Head of Early Help",
         "Service Manager, Children's Centres", "Head of Quality Assurance", "PA to the Director"]
AREAS = ["Early help and the front door", "Care leavers' accommodation", "Quality of supervision",
         "Placement sufficiency", "Edge of care", "Children missing education"]
SUPPORT = ["Reviewing sufficiency of centres in rural areas", "Consulting parents on a new centre model",
           "Working with health visitors on shared sites", "Data on reach among the most deprived families"]
QUESTIONS = [
    "Can two councils put in one expression of interest for the PbR pathfinder, or must we apply separately?",
    "Is there any funding attached to the early adopter programme, and how many days a year would it take?",
    "Our lead member changes after the May elections. Should we wait before naming her as regional lead?",
    "What evidence will you want from PbR pathfinders about outcomes for families?",
]


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    email: str


@dataclass
class Step:
    """One thing that happens on a simulated day, in order."""

    day: date
    hour: int
    what: str  # entry | complete | amend | withdraw | question | query | nomination | forged_amend |
    #            free_mail | out_of_office | bounce | late_entry
    council: Council | None = None
    person: Person | None = None
    offer: str | None = None
    shape: Shape = "lines"
    fields: dict[str, str] = field(default_factory=dict)  # label -> value
    text: str = ""
    region: str | None = None
    leads: dict[str, Person] = field(default_factory=dict)  # role title -> person
    proven: bool = True  # the border server proves the From domain


@dataclass
class Plan:
    steps: list[Step]
    responders: list[Council]
    silent: list[Council]
    slack_users: dict[str, Person]  # Slack user id -> person (their profile's email)
    genuine_free_mail: set[str]  # free-mail senders who are the council's own officer
    late: list[Step]

    def days(self) -> list[date]:
        first, last = LAUNCH, DECISIONS
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def on(self, day: date) -> list[Step]:
        return sorted((s for s in self.steps if s.day == day), key=lambda s: s.hour)


def person_at(rng: random.Random, council: Council, *, role: str | None = None) -> Person:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().replace("'", "").replace("ø", "o").replace("ë", "e")
    return Person(f"{first} {last}", role or rng.choice(ROLES), f"{local}@{council.email_domains[0]}")


def _working_day(rng: random.Random, first: date, last: date) -> date:
    """A working day between first and last, most of them near the end (reminders work)."""
    span = max((last - first).days, 0)
    for _ in range(20):
        day = first + timedelta(days=int(span * (1 - rng.random() ** 2)))
        if day.weekday() < 5:
            return day
    return last


def offer_fields(rng: random.Random, campaign: Campaign, offer: str, council: Council, person: Person,
                 councils: CouncilRegister) -> dict[str, str]:
    """What a council writes for an offer, as label -> value."""
    values = {
        "Council": rng.choice([council.name, council.short_name]),
        "Contact name": person.name,
        "Contact role": person.role,
        "Contact email": person.email,
    }
    if offer == "pbr-pathfinder":
        values["Number of children's centres"] = str(rng.randint(3, 40))
    elif offer == "children-centres-support":
        values["Support needed"] = rng.choice(SUPPORT)
    else:
        values["Areas for peer challenge"] = rng.choice(AREAS)
    return values


def plan_campaign(campaign: Campaign, councils: CouncilRegister, *, seed: int = 2027, share: float = 2 / 3) -> Plan:
    rng = random.Random(seed)
    everyone = sorted(councils, key=lambda c: c.code)
    shuffled = everyone[:]
    rng.shuffle(shuffled)
    count = round(len(shuffled) * share)
    responders, silent = shuffled[:count], shuffled[count:]
    steps: list[Step] = []
    slack_users: dict[str, Person] = {}
    deadline = {o.key: campaign.deadline(o.key).date() for o in campaign.offers}
    deadline[campaign.nomination.key] = campaign.deadline(campaign.nomination.key).date()
    offers = [o.key for o in campaign.offers]
    clustered: set[str] = set()

    for n, council in enumerate(responders):
        person = person_at(rng, council)
        shape = SHAPES[n % len(SHAPES)]
        if shape.startswith("slack"):
            slack_users[f"U{council.code}"] = person
        chosen = [offer for offer in offers if rng.random() < 0.45] or [rng.choice(offers)]
        for offer in chosen:
            if offer == "early-adopter" and council.code in clustered:
                continue
            values = offer_fields(rng, campaign, offer, council, person, councils)
            if offer == "early-adopter" and rng.random() < 0.3:
                partners = [c for c in councils.in_region(council.region)
                            if c.code != council.code and c.code not in clustered and c in responders]
                partners = partners[: rng.randint(1, 3)]
                if partners:
                    values["Other councils in the cluster"] = ", ".join(p.short_name for p in partners)
                    clustered.update(p.code for p in partners)
                clustered.add(council.code)
            day = _working_day(rng, LAUNCH, deadline[offer] - timedelta(days=1))
            incomplete = offer == "pbr-pathfinder" and shape == "lines" and rng.random() < 0.5
            if incomplete:
                missing = dict(values)
                missing.pop("Number of children's centres")
                steps.append(Step(day, 10, "entry", council, person, offer, shape, missing))
                steps.append(Step(day + timedelta(days=1), 11, "complete", council, person, offer, "lines",
                                  {"Number of children's centres": values["Number of children's centres"]}))
            else:
                steps.append(Step(day, 10, "entry", council, person, offer, shape, values))
        if rng.random() < 0.08:
            steps.append(Step(_working_day(rng, LAUNCH, date(2027, 5, 26)), 12, "question", council, person,
                              text=rng.choice(QUESTIONS)))
        if rng.random() < 0.06:
            steps.append(Step(_working_day(rng, LAUNCH, date(2027, 6, 4)), 13, "query", council, person,
                              text=rng.choice(["When is the PbR deadline?", "What have we submitted?",
                                               "What deadlines are coming up?", "help"])))

    # Amendments and withdrawals of what was sent, by the same officer, a few days later.
    entries = [s for s in steps if s.what == "entry" and s.shape in ("lines", "outlook_html", "docx")]
    for step in rng.sample(entries, k=min(8, len(entries))):
        later = step.day + timedelta(days=rng.randint(1, 4))
        if step.offer == "pbr-pathfinder":
            steps.append(Step(later, 14, "amend", step.council, step.person, step.offer,
                              fields={"Number of children's centres": str(rng.randint(41, 60))}))
        else:
            steps.append(Step(later, 14, "amend", step.council, step.person, step.offer,
                              fields={"Contact role": "Deputy Director of Children's Services"}))
    for step in rng.sample([s for s in entries if s.offer != "pbr-pathfinder"], k=3):
        steps.append(Step(step.day + timedelta(days=5), 15, "withdraw", step.council, step.person, step.offer))

    # Forged changes: someone outside the council tries to change a council's entry.
    for step in rng.sample(entries, k=3):
        steps.append(Step(step.day + timedelta(days=2), 16, "forged_amend", step.council,
                          Person("Mallory Ng", "Consultant", f"mallory.ng{rng.randint(1, 99)}@gmail.com"),
                          step.offer, fields={"Contact email": "mallory.ng@gmail.com"}, proven=False))

    # Free-mail claims: an officer writing from a personal address (the team verifies), and
    # someone claiming a silent council (the team rejects).
    genuine: set[str] = set()
    for n, council in enumerate(rng.sample(silent, k=3)):
        person = person_at(rng, council)
        sender = Person(person.name, person.role, person.email.split("@")[0] + "@gmail.com")
        values = offer_fields(rng, campaign, "children-centres-support", council, sender, councils)
        steps.append(Step(_working_day(rng, LAUNCH, date(2027, 5, 25)), 11, "free_mail", council, sender,
                          "children-centres-support", "lines", values, proven=False))
        if n < 2:
            genuine.add(sender.email)

    # Regional leads: all nine regions; some name two roles first and the third later; one
    # region replaces its lead member.
    for n, region in enumerate(REGIONS):
        members = councils.in_region(region)
        writer_council = members[n % len(members)]
        writer = person_at(rng, writer_council, role="Regional improvement adviser")
        lead_member_council = rng.choice(members)
        leads = {
            "Lead member": Person(f"Cllr {rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", "Lead member",
                                  person_at(rng, lead_member_council).email),
            "Lead chief executive": person_at(rng, rng.choice(members), role="Chief Executive"),
            "Lead DCS": person_at(rng, rng.choice(members), role="Director of Children's Services"),
        }
        day = _working_day(rng, LAUNCH, deadline[campaign.nomination.key] - timedelta(days=3))
        if n % 3 == 1:  # partial, completed later
            first = dict(list(leads.items())[:2])
            rest = dict(list(leads.items())[2:])
            steps.append(Step(day, 15, "nomination", writer_council, writer, region=region, leads=first))
            steps.append(Step(day + timedelta(days=2), 15, "nomination", writer_council, writer, region=region,
                              leads=rest))
        else:
            steps.append(Step(day, 15, "nomination", writer_council, writer, region=region, leads=leads))
        if n == 4:  # the region replaces its lead member
            new_member = Person(f"Cllr {rng.choice(FIRST_NAMES)} Replacement", "Lead member",
                                person_at(rng, lead_member_council).email)
            steps.append(Step(day + timedelta(days=3), 16, "nomination", writer_council, writer, region=region,
                              leads={"Lead member": new_member}))

    # Automatic mail: out-of-office answers to reminders, and a bounce of one.
    for council in rng.sample(silent, k=3):
        steps.append(Step(date(2027, 5, 13), 9, "out_of_office", council, person_at(rng, council)))
    steps.append(Step(date(2027, 5, 20), 9, "bounce", silent[0], person_at(rng, silent[0])))

    # Late entries, after the PbR deadline.
    late: list[Step] = []
    for council in rng.sample(silent[3:], k=2):
        person = person_at(rng, council)
        values = offer_fields(rng, campaign, "pbr-pathfinder", council, person, councils)
        step = Step(deadline["pbr-pathfinder"] + timedelta(days=1), 10, "late_entry", council, person,
                    "pbr-pathfinder", "lines", values)
        late.append(step)
        steps.append(step)

    return Plan(steps, responders, silent, slack_users, genuine, late)


def cluster_summary(plan: Plan) -> dict[str, int]:
    """How many steps of each kind the plan holds (for the rehearsal's report)."""
    counts: dict[str, int] = defaultdict(int)
    for step in plan.steps:
        counts[step.what] += 1
        if step.what == "entry":
            counts[f"shape:{step.shape}"] += 1
    return dict(counts)
