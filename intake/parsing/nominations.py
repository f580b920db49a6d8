"""Regional lead nominations: the region and, per role, a person's name, council and email.

parse_message hands over the message's label lines; Slack's nomination modal comes through
intake.parsing.forms. Both use the same person and region rules here.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from intake.campaign.definition import Campaign
from intake.campaign.register import REGIONS, CouncilRegister, resolve_region
from intake.parsing.drafts import FieldError, NominationDraft, PersonDraft
from intake.parsing.lines import Line
from intake.parsing.offers import nomination_intended
from intake.parsing.values import council_error, council_name, email_in


# Saying "here are our leads" rather than asking about them.
NOMINATING = re.compile(
    r"\b(we (?:would like to |wish to |want to )?nominate|nominating|our nominations?\b(?! for what)"
    r"|here (?:are|is) our|please find|details of our|our regional leads? (?:are|is|will be))",
    re.IGNORECASE,
)


def nomination_in(
    lines: list[Line], subject: str, body: str, campaign: Campaign, councils: CouncilRegister,
    *, amend: bool,
) -> NominationDraft | None:
    """The regional leads named, or None when the message names none (and no region)."""
    role_lines = [line for line in lines if line.target[0] == "role"]
    region_lines = [line for line in lines if line.target[0] == "region" and line.value]
    if not role_lines and not (region_lines and nomination_intended(subject, body, campaign)):
        if not (amend and region_lines):
            return None
    draft = NominationDraft()
    if region_lines:
        set_region(draft, region_lines[0].value)
    parts = _role_parts(lines)
    for role in campaign.nomination.roles:
        if role.key in parts:
            draft.people.append(person_from(role.key, parts[role.key], councils, draft.errors))
    if not amend:
        if draft.region is None and not any(e.field == "region" for e in draft.errors):
            draft.errors.append(region_missing())
        check_people(draft, campaign)
    return draft


def _role_parts(lines: list[Line]) -> dict[str, dict[str, str]]:
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
        address = email_in(piece)
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


def person_from(role: str, parts: Mapping[str, str], councils: CouncilRegister, errors: list[FieldError]) -> PersonDraft:
    person = PersonDraft(role, name=(parts.get("name") or "").strip() or None)
    council_text = (parts.get("council") or "").strip()
    email_text = (parts.get("email") or "").strip()
    if email_text:
        person.email = email_in(email_text)
        if person.email is None:
            errors.append(FieldError(f"{role}.email", f"'{email_text}' is not an email address"))
    if council_text:
        resolution = councils.resolve(council_name(council_text))
        if resolution.council is not None:
            person.council_code = resolution.council.code
        elif not _swap_council_first(person, council_text, councils):
            errors.append(council_error(f"{role}.council", council_text, resolution))
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


def check_people(draft: NominationDraft, campaign: Campaign) -> None:
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


def set_region(draft: NominationDraft, raw: str) -> None:
    if not raw:
        return
    region = resolve_region(raw)
    if region is None:
        listed = ", ".join(REGIONS)
        draft.errors.append(FieldError("region", f"We could not tell which region '{raw}' is (one of: {listed})"))
    draft.region = region


def region_missing() -> FieldError:
    return FieldError("region", "Which region are these regional leads for?")
