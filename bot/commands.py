"""`/cib <words>`: what the user asked for.

Most sub-commands are questions the core answers exactly as it answers the same words in a
message (`/cib deadlines` is the text "deadlines"); a few open a modal or are for the CIB
team only (`digest`, `export`, and the team's actions on an entry: `verify`, `reject`,
`decide`, `audit`). Unknown words get the help text, never silence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from intake.campaign.definition import Campaign
from intake.campaign.register import normalise
from intake.parsing import find_references

Action = Literal["service", "offer_modal", "nomination_modal", "choose_offer", "digest", "export", "team", "hint"]

TEAM_VERBS = ("verify", "reject", "decide", "audit")


@dataclass(frozen=True)
class Command:
    action: Action
    text: str = ""  # for "service": the text handed to the core as if it were a message
    offer: str | None = None  # for "offer_modal"
    hint: str = ""  # for "hint": what to tell the user straight away
    verb: str = ""  # for "team": verify | reject | decide | audit
    reference: str = ""  # for "team": the entry, as PREFIX-NNNN ("" when none was given)


def resolve_target(campaign: Campaign, words: str) -> str | None:
    """The offer (or the nomination) `words` names: its key, short title, reference
    prefix or an alias from config/campaign.toml, exactly or nearly."""
    key = normalise(words)
    if not key:
        return None
    names: dict[str, str] = {}
    for target in (*campaign.offers, campaign.nomination):
        for name in (target.key, target.short_title, target.title, target.reference_prefix, *target.aliases):
            names.setdefault(normalise(name), target.key)
    if key in names:
        return names[key]
    match = process.extractOne(key, list(names), scorer=fuzz.ratio, score_cutoff=85)
    return names[match[0]] if match else None


def parse_command(text: str, campaign: Campaign) -> Command:
    words = " ".join((text or "").split())
    verb, _, rest = words.partition(" ")
    verb = verb.lower()
    rest = rest.strip()

    if verb in ("", "help", "?"):
        return Command("service", "help")
    if verb == "deadlines":
        return Command("service", "deadlines")
    if verb == "deadline":
        target = resolve_target(campaign, rest) if rest else None
        return Command("service", f"when is the {rest} deadline?" if target else "deadlines")
    if verb == "status":
        return Command("service", "status")
    if verb == "leads":
        return Command("service", f"who are the {rest} leads?" if rest else "leads")
    if verb in ("form", "eoi", "apply", "submit"):
        target = resolve_target(campaign, rest) if rest else None
        if target == campaign.nomination.key:
            return Command("nomination_modal")
        if target is not None:
            return Command("offer_modal", offer=target)
        if verb == "form" and rest:
            return Command("service", f"form for {rest}")
        return Command("choose_offer")
    if verb in ("nominate", "nomination", "leads-form"):
        return Command("nomination_modal")
    if verb == "withdraw":
        references = find_references(rest, campaign)  # PREFIX-NNNN, upper case, as the core writes them
        if not references:
            return Command(
                "hint",
                hint="Which one? Give the reference, e.g. `/cib withdraw PBR-0007` "
                "(`/cib status` lists your council's references).",
            )
        return Command("service", "withdraw " + " ".join(references))
    if verb in TEAM_VERBS:
        # `/cib reject PBR-0007 Not sent by the council.`: the reference, then the words
        # after it (a reason, or `accept|decline|waitlist [note]`) in `text`.
        first, _, words = rest.partition(" ")
        found = find_references(first, campaign)
        return Command("team", words.strip() if found else rest, verb=verb, reference=found[0] if found else "")
    if verb == "digest":
        return Command("digest")
    if verb == "export":
        return Command("export")
    return Command("service", "help")
