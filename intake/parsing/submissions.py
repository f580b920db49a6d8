"""Expressions of interest in a message: which offers, and the values for each.

parse_message hands over the message's label lines (intake.parsing.lines); this module
chooses the offers (an "Offer:" line, offer headings, the subject, the body) and fills one
`SubmissionDraft` per offer, with values read by intake.parsing.values.
"""
from __future__ import annotations

import re

from intake.campaign.definition import Campaign, Offer
from intake.campaign.register import CouncilRegister, normalise
from intake.parsing.attached_documents import written_part
from intake.parsing.drafts import FieldError, SubmissionDraft
from intake.parsing.lines import BULLET, Line
from intake.parsing.offers import alias_index, offers_in
from intake.parsing.references import strip_references
from intake.parsing.values import store_value


_INTENT = re.compile(
    r"expressions? of interest|\beois?\b|express(?:ing|ed)?\s+(?:our|my|an|the)?\s*interest"
    r"|register(?:ing)?\s+(?:our|an|my)?\s*interest"
    r"|(?:would|'d|wish|want|keen|hope|hoping)\s+(?:very\s+much\s+)?(?:like\s+|love\s+)?to\s+"
    r"(?:apply|take part|participate|be considered|be part|be one|be a\b|join|sign up|put\b)"
    r"|\bapply(?:ing)?\s+(?:for|to)\b"
    r"|put (?:ourselves|our name|us) forward|\bsign(?:ing)? up\b|interested in|take up the",
    re.IGNORECASE,
)
_REPLY_SUBJECT = re.compile(r"^\s*(re|aw|sv|antw)\s*:", re.IGNORECASE)


def submissions_in(
    lines: list[Line], subject: str, body: str, campaign: Campaign, councils: CouncilRegister,
) -> list[SubmissionDraft]:
    """One draft per offer the message expresses interest in, or none."""
    field_lines = [line for line in lines if line.target[0] == "field"]
    offer_lines = [line for line in lines if line.target[0] == "offer" and offers_in(line.value, campaign)]
    if not field_lines and not offer_lines:
        return []
    if _only_nomination_fields(field_lines, lines):
        return []
    sections = _sections(body, campaign)
    offers = _choose_offers(field_lines, offer_lines, sections, subject, body, campaign)
    if offers:
        drafts = [SubmissionDraft(offer.key) for offer in offers]
        for draft, offer in zip(drafts, offers):
            _fill(draft, offer, field_lines, sections, campaign, councils)
        return drafts
    if len({line.target[1] for line in field_lines if line.value}) < 2:
        return []  # one stray "Council: X" line is not a form
    draft = SubmissionDraft("", errors=[_which_offer(campaign)])
    _fill_common(draft, field_lines, campaign, councils)
    return [draft]


def _only_nomination_fields(field_lines: list[Line], lines: list[Line]) -> bool:
    """In a nomination, "Name:/Council:/Email:" under a role heading belong to the role."""
    return any(line.target[0] in ("role", "region") for line in lines) and not any(
        line.target[0] == "offer" for line in lines
    ) and all(line.target[1] in _ROLE_SUBFIELD_KEYS for line in field_lines)


_ROLE_SUBFIELD_KEYS = frozenset({"council", "contact_name", "contact_email", "contact_role"})


def _choose_offers(
    field_lines: list[Line], offer_lines: list[Line], sections: list[tuple[int, str]],
    subject: str, body: str, campaign: Campaign,
) -> list[Offer]:
    """Which offers: an "Offer:" label, else offer-headed sections, else the subject, else
    the mentions in what the sender wrote (not an attached form's printed wording); plus
    any offer whose own fields were filled in."""
    keys: list[str] = []
    for line in offer_lines:
        keys += offers_in(line.value, campaign)
    if not keys:
        keys = list(dict.fromkeys(key for _, key in sections))
    if not keys:
        keys = offers_in(strip_references(subject, campaign), campaign)
    owned = [owner for line in field_lines for owner in _owners(line.target[1], campaign)]
    if not keys and not owned:
        keys = offers_in(strip_references(written_part(body), campaign), campaign)
    keys = list(dict.fromkeys([*keys, *owned]))
    return [campaign.offer(key) for key in keys]


def _owners(field_key: str, campaign: Campaign) -> list[str]:
    """The offers that have `field_key` as an offer-specific field ([] for common fields)."""
    return [offer.key for offer in campaign.offers if any(f.key == field_key for f in offer.fields)]


def _sections(body: str, campaign: Campaign) -> list[tuple[int, str]]:
    """(line index, offer key) for each line that is only an offer's name: a heading."""
    headings: list[tuple[int, str]] = []
    for index, line in enumerate(body.split("\n")):
        words = [w for w in normalise(BULLET.sub("", line)).split() if w not in _HEADING_FILLER]
        if not words or len(words) > 8:
            continue
        key = alias_index(campaign).get(" ".join(words))
        if key is not None:
            headings.append((index, key))
    return headings


_HEADING_FILLER = frozenset("expression expressions of interest eoi for the section offer part re our".split())


def _fill(
    draft: SubmissionDraft, offer: Offer, lines: list[Line], sections: list[tuple[int, str]],
    campaign: Campaign, councils: CouncilRegister,
) -> None:
    """Values for one offer: lines before any heading are shared; lines under a heading
    belong to that heading's offer; an offer's own fields are its own wherever they are."""
    specs = {spec.key: spec for spec in campaign.fields_for(offer)}
    own = {spec.key for spec in offer.fields}
    chosen: dict[str, str] = {}
    for line in lines:
        key = line.target[1]
        if key not in specs or not line.value:
            continue
        section = _section_of(line.index, sections)
        if key in own or section is None or section == offer.key:
            # A value under this offer's heading beats a shared one given earlier.
            if key not in chosen or section == offer.key:
                chosen[key] = line.value
    for key, raw in chosen.items():
        store_value(draft, specs[key], raw, councils)


def _fill_common(draft: SubmissionDraft, lines: list[Line], campaign: Campaign, councils: CouncilRegister) -> None:
    specs = {spec.key: spec for spec in campaign.common_fields}
    for line in lines:
        key = line.target[1]
        if key in specs and key not in draft.values and line.value:
            store_value(draft, specs[key], line.value, councils)


def _section_of(index: int, sections: list[tuple[int, str]]) -> str | None:
    current = None
    for start, key in sections:
        if start <= index:
            current = key
    return current


def _which_offer(campaign: Campaign) -> FieldError:
    names = [offer.short_title for offer in campaign.offers]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return FieldError("offer", f"Which offer is this expression of interest for: {listed}?")


def intended_offers(subject: str, body: str, campaign: Campaign) -> list[str]:
    """Offers named where the sender says they want one, though no field was filled in
    ("EOI: PbR" and nothing else): a submission with everything still to send."""
    subject_clean = strip_references(subject, campaign)
    body_clean = strip_references(body, campaign)
    if _INTENT.search(body_clean) or (_INTENT.search(subject_clean) and not _REPLY_SUBJECT.match(subject_clean)):
        written = strip_references(written_part(body), campaign)
        headed = list(dict.fromkeys(key for _, key in _sections(body, campaign)))
        return offers_in(subject_clean, campaign) or offers_in(written, campaign) or headed
    return []
