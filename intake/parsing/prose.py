"""What a letter says without label lines: "Salford would very much like to be considered
as a Payment by Results pathfinder. We currently run 16 children's centres across the
city." The council named, numbers with their nouns, and the writer's name and role from
the signature (or the From display name). Everything read this way is marked as
inferred, so the reply can say where it came from and ask to be told if it is wrong. Pure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from intake.campaign.definition import Campaign, FieldSpec
from intake.campaign.register import CouncilRegister, normalise
from intake.parsing.drafts import SubmissionDraft
from intake.parsing.values import is_empty, store_value

FROM_SIGNATURE = "your signature"
FROM_NAME = "the name your email was sent under"
FROM_TEXT = "your message"

_NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
                 "seventeen eighteen nineteen twenty thirty forty fifty").split()
_NUMBER = r"(\d{1,4}|" + "|".join(_NUMBER_WORDS) + r")"
_SIGN_OFF = re.compile(
    r"^\s*(?:kind(?:est)?\s+regards|best\s+regards|warm(?:est)?\s+regards|many\s+thanks|best\s+wishes|regards"
    r"|thanks(?:\s+again)?|thank\s+you|yours\s+(?:sincerely|faithfully)|with\s+thanks|best|cheers|kr)\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_NAME = re.compile(r"^(?:(?:Dr|Mr|Mrs|Ms|Miss|Mx|Cllr|Prof)\.?\s+)?[A-Z][a-zA-Z'’-]+(?:\s+[A-Z][a-zA-Z'’-]+){1,3}$")
_ROLE = re.compile(
    r"\b(?:director|head|manager|officer|lead|leader|co-?ordinator|assistant|chief|executive|commissioner"
    r"|principal|advis[eo]r|consultant|strategic|operations|dcs|councillor|cllr|partner|specialist)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Signature:
    name: str | None = None
    role: str | None = None


def signature(body: str) -> Signature:
    """The name and role under the last sign-off ("Kind regards,") of the text."""
    lines = body.splitlines()
    starts = [i for i, line in enumerate(lines) if _SIGN_OFF.match(line)]
    if not starts:
        return Signature()
    after = [line.strip() for line in lines[starts[-1] + 1:] if line.strip()][:3]
    if not after or not _NAME.match(after[0]) or len(after[0]) > 60:
        return Signature()
    role = None
    if len(after) > 1 and _ROLE.search(after[1]) and not re.search(r"[@\d]", after[1]) and len(after[1]) <= 100:
        role = after[1].rstrip(".,;")
    return Signature(after[0], role)


def counted(body: str, spec: FieldSpec) -> str | None:
    """A number written with the field's noun: "we run 16 children's centres"."""
    text = body.replace("’", "'")
    for label in sorted({spec.title.lower(), *spec.labels}, key=len, reverse=True):
        if label.startswith(("number of", "no.", "no ")):
            continue
        found = re.search(rf"\b{_NUMBER}\s+(?:[a-z'-]+\s+){{0,2}}?{re.escape(label)}\b", text, re.IGNORECASE)
        if found:
            return found.group(1)
    return None


def named_council(body: str, councils: CouncilRegister) -> str | None:
    """The one council the text names, capitalised as a name is ("Salford would like...");
    None when it names none or several."""
    found = councils.mentioned(body)
    return found[0].code if len(found) == 1 else None


def fill_from_prose(
    draft: SubmissionDraft, body: str, campaign: Campaign, councils: CouncilRegister, *, sender_name: str | None = None,
    signed: str = "",
) -> None:
    """Values the label lines did not give, read from the prose; each marked inferred.
    `signed`: the sign-off block the channel cut from the body, if it did."""
    try:
        specs = campaign.fields_for(campaign.offer(draft.offer))
    except KeyError:
        specs = tuple(campaign.common_fields)
    given = {key for key, value in draft.values.items() if not is_empty(value)} | {e.field for e in draft.errors}
    sign = signature(signed) if signed else signature(body)
    for spec in specs:
        if spec.key in given:
            continue
        raw, source = None, FROM_TEXT
        if spec.type == "integer":
            raw = counted(body, spec)
        elif spec.type == "council":
            code = named_council(f"{body}\n{signed}", councils)
            raw = councils.get(code).name if code and councils.get(code) else None
        elif spec.key == "contact_name":
            raw, source = (sign.name, FROM_SIGNATURE) if sign.name else (_person(sender_name), FROM_NAME)
        elif spec.key == "contact_role" and sign.role:
            raw, source = sign.role, FROM_SIGNATURE
        if raw:
            store_value(draft, spec, raw, councils)
            if not is_empty(draft.values.get(spec.key)):
                draft.inferred[spec.key] = source


def _person(display: str | None) -> str | None:
    """A From display name that names a person ("Sam Patel", "Patel, Sam"), not a team."""
    if not display:
        return None
    name = " ".join(display.replace('"', "").split())
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}"
    if not _NAME.match(name) or normalise(name).split()[-1] in ("team", "council", "services", "service", "office"):
        return None
    return name
