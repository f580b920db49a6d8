"""Text in, a classified message out: submissions, nominations, a query, or an enquiry.

Pure functions (no I/O). The same parser serves email bodies (after intake.mail.extract has
turned the MIME message into new text), Slack messages and Slack modal values.

Everything it recognises comes from the campaign (config/campaign.toml): offer aliases,
field labels and types, nomination roles, region labels and reference prefixes. The only
vocabulary of its own is the words people use around a form ("Offer:", "withdraw",
"when is the deadline").
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from intake.campaign import Campaign, FieldSpec, Offer
from intake.councils import REGIONS, CouncilRegister, Resolution, normalise, resolve_region

Kind = Literal["submission", "nomination", "query", "enquiry", "amend", "withdraw"]
QueryKind = Literal["deadline", "deadlines", "status", "leads", "form", "help"]
Value = str | int | list[str]


@dataclass(frozen=True)
class FieldError:
    """One thing the sender must fix. `field` is a field key ("centres", "council"), a
    nomination key ("region", "lead-dcs.email"), or "offer"."""

    field: str
    message: str
    candidates: tuple[str, ...] = ()  # council names to choose from, when ambiguous


@dataclass
class SubmissionDraft:
    """One expression of interest as written. `values` maps field keys to parsed values:
    text as str, integers as int, a council as its GSS code, councils as a list of codes."""

    offer: str
    values: dict[str, Value] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)  # invalid values given


@dataclass
class PersonDraft:
    role: str  # lead-member | lead-chief-executive | lead-dcs
    name: str | None = None
    council_code: str | None = None
    email: str | None = None


@dataclass
class NominationDraft:
    region: str | None = None
    people: list[PersonDraft] = field(default_factory=list)  # only the roles named
    errors: list[FieldError] = field(default_factory=list)


@dataclass(frozen=True)
class Query:
    kind: QueryKind
    offer: str | None = None  # deadline, form (an offer key, or the nomination's key)
    region: str | None = None  # leads


@dataclass
class Parsed:
    kind: Kind
    submissions: list[SubmissionDraft] = field(default_factory=list)
    nominations: list[NominationDraft] = field(default_factory=list)
    query: Query | None = None
    references: list[str] = field(default_factory=list)  # e.g. ["PBR-0007"], upper case
    text: str = ""  # the text that was parsed


# --- public API ---------------------------------------------------------------------------


def parse_message(
    subject: str, body: str, *, campaign: Campaign, councils: CouncilRegister
) -> Parsed:
    """Classify and parse one message. Priority: withdraw > amend > submission/nomination >
    query > enquiry. Free text that is none of the others is an enquiry, never an error."""
    subject = " ".join((subject or "").split())
    body = _unescape_slack((body or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = f"{subject}\n{body}".strip() if subject else body.strip()
    references = find_references(f"{subject}\n{body}", campaign)
    lines = _label_lines(body, _vocabulary(campaign))

    if references and _WITHDRAW.search(_reference_pattern(campaign).sub(" reference ", text)):
        return Parsed("withdraw", references=references, text=text)
    if references and any(line.target[0] in ("field", "role", "region") for line in lines):
        return _amend(references[0], lines, campaign, councils, text, references)

    nomination = _nomination(lines, subject, body, campaign, councils, amend=False)
    submissions = _submissions(lines, subject, body, campaign, councils)
    if submissions or nomination:
        kind: Kind = "submission" if submissions else "nomination"
        return Parsed(kind, submissions, [nomination] if nomination else [], None, references, text)

    query = detect_query(subject, body, campaign=campaign)
    if query is not None:
        return Parsed("query", query=query, references=references, text=text)
    intended = _intended_offers(subject, body, campaign)
    if intended:
        return Parsed("submission", [SubmissionDraft(key) for key in intended], references=references, text=text)
    if _nomination_intended(subject, body, campaign) and _NOMINATING.search(f"{subject}\n{body}"):
        draft = NominationDraft(errors=[_region_missing()])
        return Parsed("nomination", nominations=[draft], references=references, text=text)
    return Parsed("enquiry", references=references, text=text)


def parse_form(
    offer: str, values: Mapping[str, str], *, campaign: Campaign, councils: CouncilRegister
) -> SubmissionDraft:
    """Slack modal values keyed by field key ("" = left empty) -> a draft, with the same
    value rules as email."""
    draft = SubmissionDraft(offer)
    target = _offer_or_none(campaign, offer)
    if target is None:
        draft.errors.append(FieldError("offer", f"We do not know the offer {offer!r}."))
        return draft
    for spec in campaign.fields_for(target):
        raw = (values.get(spec.key) or "").strip()
        if raw:
            _store(draft, spec, raw, councils)
    return draft


def parse_nomination_form(
    values: Mapping[str, str], *, campaign: Campaign, councils: CouncilRegister
) -> NominationDraft:
    """Slack modal values: "region", "<role>.name", "<role>.council", "<role>.email"."""
    draft = NominationDraft()
    _set_region(draft, (values.get("region") or "").strip())
    if not (values.get("region") or "").strip():
        draft.errors.append(_region_missing())
    for role in campaign.nomination.roles:
        parts = {part: (values.get(f"{role.key}.{part}") or "").strip() for part in ("name", "council", "email")}
        if any(parts.values()):
            draft.people.append(_person(role.key, parts, councils, draft.errors))
    _check_people(draft, campaign)
    return draft


def missing_required(campaign: Campaign, offer: str, values: Mapping[str, Value]) -> list[FieldError]:
    """The required fields of `offer` that `values` does not give."""
    target = _offer_or_none(campaign, offer)
    if target is None:
        return [FieldError("offer", "Which offer is this expression of interest for?")]
    return [
        FieldError(spec.key, f"{spec.title} is missing")
        for spec in campaign.fields_for(target)
        if spec.required and _empty(values.get(spec.key))
    ]


def apply_defaults(
    campaign: Campaign,
    offer: str,
    values: Mapping[str, Value],
    *,
    sender: str | None,
    councils: CouncilRegister,
) -> dict[str, Value]:
    """Fill what the sender's address tells us (their email; their council, from its
    domain) where nothing was given. Given values always win."""
    result = dict(values)
    target = _offer_or_none(campaign, offer)
    address = _email_in(sender or "")
    if target is None or address is None:
        return result
    council = councils.by_email(address)
    for spec in campaign.fields_for(target):
        if not _empty(result.get(spec.key)):
            continue
        if spec.default_from_sender and spec.type == "email":
            result[spec.key] = address
        elif spec.type == "council" and council is not None:
            result[spec.key] = council.code
    return result


def _unescape_slack(text: str) -> str:
    """Slack sends &, < and > as entities; nothing else in a message is escaped."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- references, withdraw ---------------------------------------------------------------------

# "Cancel" alone is too common ("we had to cancel the meeting"): it must say what.
_WITHDRAW = re.compile(
    r"\bwithdr[ae]w\w*|\bretract\w*|no longer (?:wish|want|intend|plan)|\bpull(?:ing)? out\b"
    r"|\bcancel\w*\s+(?:\w+\s+){0,3}?(?:reference|eoi|expression|interest|submission|nomination"
    r"|application|it|this|that)\b",
    re.IGNORECASE,
)


def _reference_pattern(campaign: Campaign) -> re.Pattern[str]:
    prefixes = [o.reference_prefix for o in campaign.offers] + [campaign.nomination.reference_prefix]
    alternatives = "|".join(sorted((re.escape(p) for p in prefixes), key=len, reverse=True))
    # PBR-7, pbr-0007, PBR 0007, PBR0007; not "PBR 30 places" (a bare number must have 4 digits).
    return re.compile(rf"(?<![A-Za-z0-9])({alternatives})(?:\s*[-‐–]\s*(\d{{1,6}})|\s?(\d{{4,6}}))(?!\d)", re.IGNORECASE)


def find_references(text: str, campaign: Campaign) -> list[str]:
    """Reference numbers in `text`, normalised to PREFIX-NNNN, in order of appearance."""
    found: list[str] = []
    for match in _reference_pattern(campaign).finditer(text or ""):
        number = int(match.group(2) or match.group(3))
        reference = f"{match.group(1).upper()}-{number:04d}"
        if reference not in found:
            found.append(reference)
    return found


def _strip_references(text: str, campaign: Campaign) -> str:
    return _reference_pattern(campaign).sub(" ", text)


def _amend(
    reference: str, lines: list[_Line], campaign: Campaign, councils: CouncilRegister,
    text: str, references: list[str],
) -> Parsed:
    """A change to an earlier submission: only the values given, for the referenced offer."""
    prefix = reference.split("-", 1)[0]
    if prefix.upper() == campaign.nomination.reference_prefix.upper():
        draft = _nomination(lines, "", "", campaign, councils, amend=True) or NominationDraft()
        return Parsed("amend", nominations=[draft], references=references, text=text)
    offer = campaign.offer_by_prefix(prefix)
    draft = SubmissionDraft(offer.key if offer else "")
    if offer is not None:
        specs = {spec.key: spec for spec in campaign.fields_for(offer)}
        for line in lines:
            if line.target[0] == "field" and line.target[1] in specs and line.value:
                _store(draft, specs[line.target[1]], line.value, councils)
    return Parsed("amend", submissions=[draft], references=references, text=text)


# --- label lines ----------------------------------------------------------------------------

Target = tuple[str, ...]  # ("field", key) | ("offer",) | ("region",) | ("role", key, part)

_OFFER_LABELS = ("offer", "expression of interest", "expression of interest for", "programme",
                 "program", "eoi", "eoi for", "offer name", "which offer", "interested in",
                 "interest in", "applying for")
_ROLE_PARTS = {"name": ("name", "full name"), "council": ("council", "local authority", "authority",
               "organisation", "organization", "la"), "email": ("email", "e mail", "email address",
               "e mail address", "contact email")}
_FILLER = frozenset("of the for this your our a an in at to please main eoi its".split())


@dataclass(frozen=True)
class _Vocabulary:
    labels: dict[str, tuple[Target, ...]]  # normalised label -> what it names
    longest: int  # words in the longest label


@dataclass
class _Line:
    index: int
    target: Target
    value: str  # raw value ("" when none was found)


@lru_cache(maxsize=8)
def _vocabulary(campaign: Campaign) -> _Vocabulary:
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
    return _Vocabulary(frozen, max(len(key.split()) for key in frozen))


def _all_fields(campaign: Campaign) -> list[FieldSpec]:
    seen: dict[tuple[str, str], FieldSpec] = {}
    for spec in [*campaign.common_fields, *(f for o in campaign.offers for f in o.fields)]:
        seen.setdefault((spec.key, spec.type), spec)
    return list(seen.values())


_BULLET = re.compile(r"^\s*(?:[-*•·▪●◦‣>–—]+\s*|\(?\d{1,2}[.)]\s+|\(?[a-hA-H][.)]\s+|Q\d{1,2}[.:)]?\s+)*")
_SEPARATOR = re.compile(r"\s*(?::|\t|\s[-–—]\s|\s[-–—]$|[-–—]\s*$|=)\s*")


def _label_lines(body: str, vocabulary: _Vocabulary) -> list[_Line]:
    """Every line that starts with a known label, with its value (on the same line, or on
    the next non-empty line when the label stands alone)."""
    lines = body.split("\n")
    found: list[_Line] = []
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
            if following is not None and _match_label(lines[following], vocabulary) is None:
                value = _clean_value(lines[following])
                consumed.add(following)
        found.extend(_Line(index, t, value) for t in target)
    return found


def _next_filled(lines: list[str], index: int) -> int | None:
    for following in range(index + 1, min(index + 4, len(lines))):
        if lines[following].strip():
            return following
    return None


def _match_label(line: str, vocabulary: _Vocabulary) -> tuple[tuple[Target, ...], str, bool] | None:
    """(targets, value, label-only?) when `line` begins with a known label."""
    stripped = _BULLET.sub("", line.strip()).strip()
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


def _lookup(label: str, vocabulary: _Vocabulary) -> tuple[Target, ...]:
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


# --- submissions ----------------------------------------------------------------------------

_INTENT = re.compile(
    r"expressions? of interest|\beois?\b|express(?:ing|ed)?\s+(?:our|my|an|the)?\s*interest"
    r"|register(?:ing)?\s+(?:our|an|my)?\s*interest|(?:would|wish|want)\s+(?:like\s+)?to\s+"
    r"(?:apply|take part|participate|be considered|join|sign up|put\b)|\bapply(?:ing)?\s+(?:for|to)\b"
    r"|put (?:ourselves|our name|us) forward|\bsign(?:ing)? up\b|interested in|take up the",
    re.IGNORECASE,
)
# Saying "here are our leads" rather than asking about them.
_NOMINATING = re.compile(
    r"\b(we (?:would like to |wish to |want to )?nominate|nominating|our nominations?\b(?! for what)"
    r"|here (?:are|is) our|please find|details of our|our regional leads? (?:are|is|will be))",
    re.IGNORECASE,
)
_REPLY_SUBJECT = re.compile(r"^\s*(re|aw|sv|antw)\s*:", re.IGNORECASE)


def _submissions(
    lines: list[_Line], subject: str, body: str, campaign: Campaign, councils: CouncilRegister,
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


def _only_nomination_fields(field_lines: list[_Line], lines: list[_Line]) -> bool:
    """In a nomination, "Name:/Council:/Email:" under a role heading belong to the role."""
    return any(line.target[0] in ("role", "region") for line in lines) and not any(
        line.target[0] == "offer" for line in lines
    ) and all(line.target[1] in _ROLE_SUBFIELD_KEYS for line in field_lines)


_ROLE_SUBFIELD_KEYS = frozenset({"council", "contact_name", "contact_email", "contact_role"})


def _choose_offers(
    field_lines: list[_Line], offer_lines: list[_Line], sections: list[tuple[int, str]],
    subject: str, body: str, campaign: Campaign,
) -> list[Offer]:
    """Which offers: an "Offer:" label, else offer-headed sections, else the subject, else
    the body's mentions; plus any offer whose own fields were filled in."""
    keys: list[str] = []
    for line in offer_lines:
        keys += offers_in(line.value, campaign)
    if not keys:
        keys = list(dict.fromkeys(key for _, key in sections))
    if not keys:
        keys = offers_in(_strip_references(subject, campaign), campaign)
    owned = [owner for line in field_lines for owner in _owners(line.target[1], campaign)]
    if not keys and not owned:
        keys = offers_in(_strip_references(body, campaign), campaign)
    keys = list(dict.fromkeys([*keys, *owned]))
    return [campaign.offer(key) for key in keys]


def _owners(field_key: str, campaign: Campaign) -> list[str]:
    """The offers that have `field_key` as an offer-specific field ([] for common fields)."""
    return [offer.key for offer in campaign.offers if any(f.key == field_key for f in offer.fields)]


def _sections(body: str, campaign: Campaign) -> list[tuple[int, str]]:
    """(line index, offer key) for each line that is only an offer's name: a heading."""
    headings: list[tuple[int, str]] = []
    for index, line in enumerate(body.split("\n")):
        words = [w for w in normalise(_BULLET.sub("", line)).split() if w not in _HEADING_FILLER]
        if not words or len(words) > 8:
            continue
        key = _alias_index(campaign).get(" ".join(words))
        if key is not None:
            headings.append((index, key))
    return headings


_HEADING_FILLER = frozenset("expression expressions of interest eoi for the section offer part re our".split())


def _fill(
    draft: SubmissionDraft, offer: Offer, lines: list[_Line], sections: list[tuple[int, str]],
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
        _store(draft, specs[key], raw, councils)


def _fill_common(draft: SubmissionDraft, lines: list[_Line], campaign: Campaign, councils: CouncilRegister) -> None:
    specs = {spec.key: spec for spec in campaign.common_fields}
    for line in lines:
        key = line.target[1]
        if key in specs and key not in draft.values and line.value:
            _store(draft, specs[key], line.value, councils)


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


def _intended_offers(subject: str, body: str, campaign: Campaign) -> list[str]:
    """Offers named where the sender says they want one, though no field was filled in
    ("EOI: PbR" and nothing else): a submission with everything still to send."""
    subject_clean = _strip_references(subject, campaign)
    body_clean = _strip_references(body, campaign)
    if _INTENT.search(body_clean):
        return offers_in(subject_clean, campaign) or offers_in(body_clean, campaign)
    if _INTENT.search(subject_clean) and not _REPLY_SUBJECT.match(subject_clean):
        return offers_in(subject_clean, campaign) or offers_in(body_clean, campaign)
    return []


@lru_cache(maxsize=8)
def _alias_index(campaign: Campaign) -> dict[str, str]:
    """Normalised alias -> offer key (titles, short titles and keys count as aliases)."""
    index: dict[str, str] = {}
    for offer in campaign.offers:
        for alias in (*offer.aliases, offer.title, offer.short_title, offer.key.replace("-", " ")):
            key = normalise(alias)
            if key:
                index.setdefault(key, offer.key)
    return index


def offers_in(text: str, campaign: Campaign) -> list[str]:
    """Offer keys named in `text`, in order of first mention; the longest alias wins
    where aliases overlap."""
    words = normalise(text or "").split()
    if not words:
        return []
    index = _alias_index(campaign)
    longest = max(len(alias.split()) for alias in index)
    taken = [False] * len(words)
    found: list[tuple[int, str]] = []
    for size in range(longest, 0, -1):
        for start in range(len(words) - size + 1):
            if any(taken[start: start + size]):
                continue
            key = index.get(" ".join(words[start: start + size]))
            if key is not None:
                found.append((start, key))
                for position in range(start, start + size):
                    taken[position] = True
    return list(dict.fromkeys(key for _, key in sorted(found)))


def _offer_or_none(campaign: Campaign, key: str) -> Offer | None:
    try:
        return campaign.offer(key)
    except KeyError:
        return None


# --- values ---------------------------------------------------------------------------------


def _store(draft: SubmissionDraft, spec: FieldSpec, raw: str, councils: CouncilRegister) -> None:
    value, error = parse_value(spec, raw, councils)
    if error is not None:
        draft.errors.append(error)
    elif value is not None:
        draft.values[spec.key] = value


def parse_value(spec: FieldSpec, raw: str, councils: CouncilRegister) -> tuple[Value | None, FieldError | None]:
    """One field's raw text as its typed value, or the error to show the sender."""
    raw = raw.strip()
    if not raw:
        return None, None
    if spec.type == "integer":
        return _integer(spec, raw)
    if spec.type == "email":
        address = _email_in(raw)
        if address is None:
            return None, FieldError(spec.key, f"{spec.title} '{raw}' is not an email address")
        return address, None
    if spec.type == "council":
        resolution = councils.resolve(_council_text(raw))
        if resolution.council is None:
            return None, _council_error(spec.key, raw, resolution)
        return resolution.council.code, None
    if spec.type == "councils":
        return _councils(spec, raw, councils)
    return raw, None


_NUMBER_WORDS = {word: number for number, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split()
)} | {"none": 0, "nil": 0, "thirty": 30, "forty": 40, "fifty": 50}


def _integer(spec: FieldSpec, raw: str) -> tuple[int | None, FieldError | None]:
    """"12", "12 centres", "1,200", "twelve"; not "about a dozen" or "12.5"."""
    text = raw.replace(",", "").strip()
    match = re.match(r"^\D{0,20}?(-?\d+)(\.\d+)?\b", text)
    number: int | None = None
    if match and not match.group(2):
        number = int(match.group(1))
    elif not match:
        first = normalise(text).split()[:1]
        number = _NUMBER_WORDS.get(first[0]) if first else None
    if number is None:
        return None, FieldError(spec.key, f"{spec.title} must be a whole number (we read '{raw}')")
    if spec.minimum is not None and number < spec.minimum:
        return None, FieldError(spec.key, f"{spec.title} must be at least {spec.minimum} (we read '{raw}')")
    return number, None


_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _email_in(text: str) -> str | None:
    """The first plausible addr-spec in `text` ("Jane <jane@x.gov.uk>", "mailto:…")."""
    match = _EMAIL.search((text or "").replace("mailto:", " "))
    if match is None:
        return None
    address = match.group(0).strip(".'").lower()
    local, _, domain = address.partition("@")
    if not local or local.startswith(".") or ".." in address or "." not in domain:
        return None
    return address


def _council_text(raw: str) -> str:
    """Drop what people add after a council's name: "(London)", " - Children's Services"."""
    return re.split(r"\s[-–—]\s|\(|\n", raw, maxsplit=1)[0].strip() or raw


def _council_error(key: str, raw: str, resolution: Resolution) -> FieldError:
    names = tuple(council.name for council in resolution.candidates)
    if resolution.reason == "ambiguous" and names:
        listed = " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
        return FieldError(key, f"We could not tell which council '{raw}' is: {listed}?", names)
    if names:
        listed = " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
        return FieldError(key, f"We do not recognise the council '{raw}'. Did you mean {listed}?", names)
    return FieldError(key, f"We do not recognise the council '{raw}'. Please give its full name.")


def _councils(spec: FieldSpec, raw: str, councils: CouncilRegister) -> tuple[list[str] | None, FieldError | None]:
    """A list of councils: split on commas, semicolons and lines, then on "and"/"&" only
    where the whole does not name one council (Redcar and Cleveland)."""
    codes: list[str] = []
    for piece in re.split(r"[,;\n/]+", raw):
        piece = re.sub(r"^\s*(and|&)\s+", "", piece.strip(" .")).strip()
        if not piece or normalise(piece) in ("none", "n a", "na", "no"):
            continue
        found = _council_run(piece, councils)
        if found is None:
            resolution = councils.resolve(piece)
            return None, _council_error(spec.key, piece, resolution)
        codes += [code for code in found if code not in codes]
    return codes, None


def _council_run(piece: str, councils: CouncilRegister) -> list[str] | None:
    whole = councils.resolve(piece)
    if whole.council is not None:
        return [whole.council.code]
    parts = [p.strip() for p in re.split(r"\s+(?:and|&)\s+", piece) if p.strip()]
    if len(parts) < 2:
        return None
    codes: list[str] = []
    start = 0
    while start < len(parts):
        for end in range(len(parts), start, -1):
            resolution = councils.resolve(" and ".join(parts[start:end]))
            if resolution.council is not None:
                codes.append(resolution.council.code)
                start = end
                break
        else:
            return None
    return codes


def _empty(value: object) -> bool:
    return value is None or value == "" or value == []


# --- nominations ----------------------------------------------------------------------------


def _nomination(
    lines: list[_Line], subject: str, body: str, campaign: Campaign, councils: CouncilRegister,
    *, amend: bool,
) -> NominationDraft | None:
    """The regional leads named, or None when the message names none (and no region)."""
    role_lines = [line for line in lines if line.target[0] == "role"]
    region_lines = [line for line in lines if line.target[0] == "region" and line.value]
    if not role_lines and not (region_lines and _nomination_intended(subject, body, campaign)):
        if not (amend and region_lines):
            return None
    draft = NominationDraft()
    if region_lines:
        _set_region(draft, region_lines[0].value)
    parts = _role_parts(lines)
    for role in campaign.nomination.roles:
        if role.key in parts:
            draft.people.append(_person(role.key, parts[role.key], councils, draft.errors))
    if not amend:
        if draft.region is None and not any(e.field == "region" for e in draft.errors):
            draft.errors.append(_region_missing())
        _check_people(draft, campaign)
    return draft


def _role_parts(lines: list[_Line]) -> dict[str, dict[str, str]]:
    """Per role: name/council/email from a compact line, separate labelled lines, or
    "Name:/Council:/Email:" lines under a role heading."""
    parts: dict[str, dict[str, str]] = {}
    heading: str | None = None
    last_index = -10
    for line in lines:
        kind = line.target[0]
        if kind == "role":
            role, part = line.target[1], line.target[2]
            entry = parts.setdefault(role, {})
            if part:
                entry[part] = line.value
                heading = None
            elif line.value:
                entry.update({k: v for k, v in _split_person(line.value).items() if v})
                heading = None
            else:
                heading = role
            last_index = line.index
        elif kind == "field" and heading is not None and line.index - last_index <= 3:
            part = {"contact_name": "name", "council": "council", "contact_email": "email"}.get(line.target[1])
            if part and line.value:
                parts[heading].setdefault(part, line.value)
                last_index = line.index
        elif kind == "region":
            heading = None
    return parts


def _split_person(value: str) -> dict[str, str]:
    """"Jane Smith, Camden, jane.smith@camden.gov.uk" in any order: the address by its @,
    the name first and the council last of what remains (swapped later when the first
    piece is the council)."""
    pieces: list[str] = []
    email = ""
    for piece in re.split(r"[,;|()\[\]]|\s[-–—]\s", value):
        piece = piece.strip()
        address = _email_in(piece)
        if address and not email:
            email = address
            piece = re.sub(r"<?(mailto:)?" + re.escape(address) + r">?", " ", piece, flags=re.IGNORECASE)
            piece = piece.strip(" <>")
        if piece:
            pieces.append(piece)
    return {
        "name": pieces[0] if pieces else "",
        "council": pieces[-1] if len(pieces) > 1 else "",
        "email": email,
    }


def _person(role: str, parts: Mapping[str, str], councils: CouncilRegister, errors: list[FieldError]) -> PersonDraft:
    person = PersonDraft(role, name=(parts.get("name") or "").strip() or None)
    council_text = (parts.get("council") or "").strip()
    email_text = (parts.get("email") or "").strip()
    if email_text:
        person.email = _email_in(email_text)
        if person.email is None:
            errors.append(FieldError(f"{role}.email", f"'{email_text}' is not an email address"))
    if council_text:
        resolution = councils.resolve(_council_text(council_text))
        if resolution.council is not None:
            person.council_code = resolution.council.code
        elif not _swap_council_first(person, council_text, councils):
            errors.append(_council_error(f"{role}.council", council_text, resolution))
    if person.council_code is None and person.email:
        # A council address names the council (jane@camden.gov.uk is Camden).
        found = councils.by_email(person.email)
        person.council_code = found.code if found else None
    return person


def _swap_council_first(person: PersonDraft, council_text: str, councils: CouncilRegister) -> bool:
    """"Camden, Jane Smith": the first piece was the council and the last the name."""
    first = councils.resolve(person.name or "")
    if first.council is None:
        return False
    person.name, person.council_code = council_text, first.council.code
    return True


def _check_people(draft: NominationDraft, campaign: Campaign) -> None:
    """Each named person needs a council and an address we can write to."""
    for person in draft.people:
        title = campaign.nomination.role(person.role).title
        who = person.name or title
        if person.name is None:
            draft.errors.append(FieldError(f"{person.role}.name", f"{title}: the name is missing"))
        if person.council_code is None and not any(e.field == f"{person.role}.council" for e in draft.errors):
            draft.errors.append(FieldError(f"{person.role}.council", f"{title}: which council is {who} from?"))
        if person.email is None and not any(e.field == f"{person.role}.email" for e in draft.errors):
            draft.errors.append(FieldError(f"{person.role}.email", f"{title}: the email address for {who} is missing"))


def _set_region(draft: NominationDraft, raw: str) -> None:
    if not raw:
        return
    region = resolve_region(raw)
    if region is None:
        listed = ", ".join(REGIONS)
        draft.errors.append(FieldError("region", f"We could not tell which region '{raw}' is (one of: {listed})"))
    draft.region = region


def _region_missing() -> FieldError:
    return FieldError("region", "Which region are these regional leads for?")


def _nomination_intended(subject: str, body: str, campaign: Campaign) -> bool:
    text = normalise(f"{subject}\n{body}")
    aliases = [normalise(a) for a in (*campaign.nomination.aliases, campaign.nomination.short_title)]
    return any(re.search(rf"\b{re.escape(alias)}\b", text) for alias in aliases if alias)


# --- queries --------------------------------------------------------------------------------

_QUESTION_WORDS = 60  # longer than this and it is a letter, not a question for the bot


def detect_query(subject: str, body: str, *, campaign: Campaign) -> Query | None:
    """A question the service can answer itself, or None."""
    subject = re.sub(r"^\s*((re|fw|fwd|aw)\s*:\s*)+", "", subject or "", flags=re.IGNORECASE)
    text = f"{subject}\n{body or ''}".strip()
    words = normalise(text).split()
    if not words or len(words) > _QUESTION_WORDS:
        return None
    flat = " ".join(words)
    target = _target_in(body or "", campaign) or _target_in(subject, campaign)
    if re.search(r"\b(forms?|template|pro ?forma)\b", flat) and (
        target or re.search(r"\b(send|need|get|have|want|blank|where|copy|can i|please)\b", flat) or len(words) <= 4
    ):
        return Query("form", offer=target)
    if re.search(r"\b(leads|regional leads?|appendix a)\b", flat) and re.search(
        r"\b(who|list|which|names?|show|appendix a)\b", flat
    ):
        return Query("leads", region=_region_in(text))
    if re.search(r"\b(deadlines?|closing dates?|due dates?|due|close|closes|when)\b", flat) and (
        re.search(r"\b(deadlines?|closing|due|close|closes|submit|send|by when)\b", flat)
    ):
        if target and not re.search(r"\bdeadlines\b", flat):
            return Query("deadline", offer=target)
        return Query("deadlines")
    if re.search(r"\b(status|what have we (submitted|sent)|what did we (submit|send)|have you (received|got)"
                 r"|our (submissions|eois?|expressions)|what we have (submitted|sent)|submitted so far)\b", flat):
        return Query("status")
    if re.fullmatch(r"(help|help me|\?|what can you do|how does this work|commands|menu|usage|hi help)", flat or "?"):
        return Query("help")
    return None


def _target_in(text: str, campaign: Campaign) -> str | None:
    """The offer (or the nomination) a question is about."""
    offers = offers_in(text, campaign)
    if offers:
        return offers[0]
    return campaign.nomination.key if _nomination_intended(text, "", campaign) else None


def _region_in(text: str) -> str | None:
    """A region named in a question: by name, or as "leads for X" / "X leads"."""
    flat = normalise(text)
    for region in sorted(REGIONS, key=len, reverse=True):
        if re.search(rf"\b{re.escape(normalise(region))}\b", flat):
            return region
    for pattern in (r"\b(?:for|in|of)\s+(?:the\s+)?([a-z ]{2,40}?)(?:\s+region)?\s*$",
                    r"\b(?:the\s+)?([a-z ]{2,40}?)\s+(?:regional\s+)?leads\b"):
        match = re.search(pattern, flat)
        if match:
            words = [w for w in match.group(1).split() if w not in ("who", "are", "is", "the", "what")]
            for size in range(min(len(words), 4), 0, -1):
                region = resolve_region(" ".join(words[-size:]))
                if region:
                    return region
    return None


def iter_labels(campaign: Campaign) -> Iterable[str]:
    """Every label the parser knows (for help texts and forms)."""
    return sorted(_vocabulary(campaign).labels)
