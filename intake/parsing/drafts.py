"""What parsing hands to the service: a `Parsed` message and the drafts, queries and
field errors inside it.

Plain data, no logic: the other modules in intake.parsing build these; the service and
its replies read them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


Kind = Literal["submission", "nomination", "query", "enquiry", "amend", "withdraw", "confirmation", "held"]
QueryKind = Literal["deadline", "deadlines", "status", "leads", "form", "help"]
Value = str | int | list[str]


@dataclass(frozen=True)
class FieldError:
    """One thing the sender must fix. `field` is a field key ("centres", "council"), a
    nomination key ("region", "lead-dcs.email"), or "offer"."""

    field: str
    message: str
    candidates: tuple[str, ...] = ()  # council names to choose from, when ambiguous
    elsewhere: str = ""  # the council named is outside England ("Cardiff Council is in Wales")


@dataclass
class SubmissionDraft:
    """One expression of interest as written. `values` maps field keys to parsed values:
    text as str, integers as int, a council as its GSS code, councils as a list of codes."""

    offer: str
    values: dict[str, Value] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)  # invalid values given
    inferred: dict[str, str] = field(default_factory=dict)  # field key -> where it was read from (prose)


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
    questions: list[str] = field(default_factory=list)  # asked in passing, for the team to answer
    elsewhere: str = ""  # an entry from a council outside England: kept as an enquiry, and told so
