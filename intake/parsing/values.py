"""One field's raw text as a typed value: whole numbers, email addresses, a council, a list
of councils; or the error to show the sender.

Used wherever a value is read, from a `Label: value` line (submissions, nominations,
amendments) or from a Slack modal (forms), so both channels get the same value rules.
"""
from __future__ import annotations

import re

from intake.campaign.definition import FieldSpec
from intake.campaign.register import CouncilRegister, Resolution, normalise
from intake.parsing.drafts import FieldError, SubmissionDraft, Value


def store_value(draft: SubmissionDraft, spec: FieldSpec, raw: str, councils: CouncilRegister) -> None:
    """Read one field's value onto the draft: the value if it reads, else the error."""
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
        address = email_in(raw)
        if address is None:
            return None, FieldError(spec.key, f"{spec.title} '{raw}' is not an email address")
        return address, None
    if spec.type == "council":
        resolution = councils.resolve(council_name(raw))
        if resolution.council is None:
            outside = councils.outside_england(raw)
            if outside is not None:
                name, nation = outside
                return None, FieldError(spec.key, f"{name} is in {nation}: the programme is for England's councils.",
                                        elsewhere=f"{name} is in {nation}")
            return None, council_error(spec.key, raw, resolution)
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


def email_in(text: str) -> str | None:
    """The first plausible addr-spec in `text` ("Jane <jane@x.gov.uk>", "mailto:…")."""
    match = _EMAIL.search((text or "").replace("mailto:", " "))
    if match is None:
        return None
    address = match.group(0).strip(".'").lower()
    local, _, domain = address.partition("@")
    if not local or local.startswith(".") or ".." in address or "." not in domain:
        return None
    if len(local) > 64 or len(address) > 254:  # longer than RFC 5321 lets an address be
        return None
    return address


def council_name(raw: str) -> str:
    """Drop what people add after a council's name: "(London)", " - Children's Services"."""
    return re.split(r"\s[-–—]\s|\(|\n", raw, maxsplit=1)[0].strip() or raw


def council_error(key: str, raw: str, resolution: Resolution) -> FieldError:
    """What to tell the sender when `raw` names no one council: the candidates, if any."""
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
            return None, council_error(spec.key, piece, resolution)
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


def is_empty(value: object) -> bool:
    """Nothing given: no value, an empty text or an empty list (0 is a value)."""
    return value is None or value == "" or value == []
