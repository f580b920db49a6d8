"""`Label: value` lines: the labels a campaign's forms use, and the lines of a message that
start with one.

The first step of parse_message: the message body becomes a list of `Line`s (what each
label names, and its raw value), which submissions, nominations and amendments then read.
Labels come from the campaign (field, region and role labels) plus the words people use
for the offer ("Offer:", "EOI for:").
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from intake.campaign.definition import Campaign, FieldSpec
from intake.campaign.register import normalise


Target = tuple[str, ...]  # ("field", key) | ("offer",) | ("region",) | ("role", key, part)

_OFFER_LABELS = ("offer", "expression of interest", "expression of interest for", "programme",
                 "program", "eoi", "eoi for", "offer name", "which offer", "interested in",
                 "interest in", "applying for")
_ROLE_PARTS = {"name": ("name", "full name"), "council": ("council", "local authority", "authority",
               "organisation", "organization", "la"), "email": ("email", "e mail", "email address",
               "e mail address", "contact email")}
_FILLER = frozenset("of the for this your our a an in at to please main eoi its".split())


@dataclass(frozen=True)
class Vocabulary:
    """Every label the campaign's forms use, and what each names."""

    labels: dict[str, tuple[Target, ...]]  # normalised label -> what it names
    longest: int  # words in the longest label


@dataclass
class Line:
    """A line of the body that starts with a label: what the label names, and its value."""

    index: int
    target: Target
    value: str  # raw value ("" when none was found)


@lru_cache(maxsize=8)
def vocabulary_of(campaign: Campaign) -> Vocabulary:
    labels: dict[str, list[Target]] = {}

    def add(label: str, target: Target) -> None:
        key = normalise(label)
        if key and target not in labels.setdefault(key, []):
            labels[key].append(target)

    for spec in _all_fields(campaign):
        for label in spec.all_labels:
            add(label, ("field", spec.key))
    for label in _OFFER_LABELS:
        add(label, ("offer",))
    for label in campaign.nomination.region_labels:
        add(label, ("region",))
    for role in campaign.nomination.roles:
        for label in role.all_labels:
            add(label, ("role", role.key, ""))
            for part, suffixes in _ROLE_PARTS.items():
                for suffix in suffixes:
                    add(f"{label} {suffix}", ("role", role.key, part))
                    add(f"{label}s {suffix}", ("role", role.key, part))
    frozen = {key: tuple(targets) for key, targets in labels.items()}
    return Vocabulary(frozen, max(len(key.split()) for key in frozen))


def _all_fields(campaign: Campaign) -> list[FieldSpec]:
    seen: dict[tuple[str, str], FieldSpec] = {}
    for spec in [*campaign.common_fields, *(f for o in campaign.offers for f in o.fields)]:
        seen.setdefault((spec.key, spec.type), spec)
    return list(seen.values())


BULLET = re.compile(r"^\s*(?:[-*•·▪●◦‣>–—]+\s*|\(?\d{1,2}[.)]\s+|\(?[a-hA-H][.)]\s+|Q\d{1,2}[.:)]?\s+)*")
_SEPARATOR = re.compile(r"\s*(?::|\t|\s[-–—]\s|\s[-–—]$|[-–—]\s*$|=)\s*")


def label_lines(body: str, vocabulary: Vocabulary) -> list[Line]:
    """Every line that starts with a known label, with its value (on the same line, or on
    the next non-empty line when the label stands alone)."""
    lines = body.split("\n")
    found: list[Line] = []
    consumed: set[int] = set()
    for index, line in enumerate(lines):
        if index in consumed:
            continue
        hit = _match_label(line, vocabulary)
        if hit is None:
            continue
        target, value, alone = hit
        if not value and alone:
            following = _next_filled(lines, index)
            if following is not None and _match_label(lines[following], vocabulary) is None \
                    and _answers(target, lines[following]):
                value = _clean_value(lines[following])
                consumed.add(following)
        found.extend(Line(index, t, value) for t in target)
    return found


_OFFER_ANSWER_WORDS = 12


def _answers(target: tuple[Target, ...], line: str) -> bool:
    """Whether `line` may be the answer to a label standing alone above it. The offer's
    answer is a few names: a sentence after a title such as "Expression of interest" is
    the form's wording, though it may name every offer."""
    return target != (("offer",),) or len(line.split()) <= _OFFER_ANSWER_WORDS


def _next_filled(lines: list[str], index: int) -> int | None:
    for following in range(index + 1, min(index + 4, len(lines))):
        if lines[following].strip():
            return following
    return None


def _match_label(line: str, vocabulary: Vocabulary) -> tuple[tuple[Target, ...], str, bool] | None:
    """(targets, value, label-only?) when `line` begins with a known label."""
    stripped = BULLET.sub("", line.strip()).strip()
    if not stripped:
        return None
    split = _SEPARATOR.search(stripped)
    if split and split.start() > 0:
        label, value = stripped[: split.start()], stripped[split.end():]
        targets = _lookup(label, vocabulary)
        if targets:
            return targets, _clean_value(value), not value.strip()
    # A label standing alone ("Council" on its own line, as Outlook lays out a table).
    targets = vocabulary.labels.get(normalise(stripped.strip("*_ ")))
    if targets and len(stripped) <= 60:
        return targets, "", True
    return None


def _lookup(label: str, vocabulary: Vocabulary) -> tuple[Target, ...]:
    """The targets of a label: exact after normalising, else the longest known label it
    contains, provided the rest is only filler ("Name of lead contact")."""
    key = normalise(label.strip("*_ "))
    if not key or len(key.split()) > vocabulary.longest + 4:
        return ()
    if key in vocabulary.labels:
        return vocabulary.labels[key]
    words = key.split()
    best: tuple[int, int, int, str] | None = None
    for size in range(min(len(words), vocabulary.longest), 0, -1):
        for start in range(len(words) - size + 1):
            candidate = " ".join(words[start: start + size])
            if candidate not in vocabulary.labels:
                continue
            rest = len([w for w in words[:start] + words[start + size:] if w not in _FILLER])
            # Fewest extra words, then the longest label, then the rightmost: in
            # "Name of council" it is the council that is named.
            score = (-rest, size, start, candidate)
            if rest <= 1 and (best is None or score[:3] > best[:3]):
                best = score
    return vocabulary.labels[best[3]] if best else ()


def _clean_value(value: str) -> str:
    value = value.strip()
    value = re.sub(r"^[*_]+|[*_]+$", "", value).strip()  # stray *bold* / _italic_
    return value


def iter_labels(campaign: Campaign) -> Iterable[str]:
    """Every label the parser knows (for help texts and forms)."""
    return sorted(vocabulary_of(campaign).labels)
