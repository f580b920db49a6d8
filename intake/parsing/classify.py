"""parse_message: one message's subject and body in, a classified `Parsed` out, for the
service.

Priority: withdraw > amend > submission/nomination > query > enquiry. The body's label
lines are read once (intake.parsing.lines) and handed to the submission and nomination
readers; free text that is none of the others is an enquiry, never an error.
"""
from __future__ import annotations

from intake.campaign.definition import Campaign
from intake.campaign.register import CouncilRegister
from intake.parsing.drafts import Kind, NominationDraft, Parsed, SubmissionDraft
from intake.parsing.lines import Line, label_lines, vocabulary_of
from intake.parsing.nominations import NOMINATING, nomination_in, region_missing
from intake.parsing.offers import nomination_intended
from intake.parsing.prose import fill_from_prose
from intake.parsing.queries import detect_query
from intake.parsing.questions import questions_in
from intake.parsing.references import asks_to_withdraw, find_references
from intake.parsing.submissions import intended_offers, submissions_in
from intake.parsing.values import store_value


def parse_message(
    subject: str, body: str, *, campaign: Campaign, councils: CouncilRegister, sender_name: str | None = None,
    signature: str = "",
) -> Parsed:
    """Classify and parse one message. Priority: withdraw > amend > submission/nomination >
    query > enquiry. Free text that is none of the others is an enquiry, never an error.
    A change or an entry that also asks something carries its questions for the team."""
    parsed = _classify(subject, body, campaign=campaign, councils=councils)
    if parsed.kind in ("submission", "nomination", "amend", "withdraw"):
        parsed.questions = questions_in(body or "")
    if parsed.kind == "submission":
        # What the label lines left out, read from the letter and its signature.
        for draft in parsed.submissions:
            fill_from_prose(draft, (body or "").replace("\r\n", "\n"), campaign, councils, sender_name=sender_name,
                            signed=signature)
        elsewhere = _outside_england(parsed, body or "", councils)
        if elsewhere:
            # Not an entry the programme can take: the team hears of it as an enquiry.
            return Parsed("enquiry", references=parsed.references, text=parsed.text, elsewhere=elsewhere)
    return parsed


def _outside_england(parsed: Parsed, body: str, councils: CouncilRegister) -> str:
    """"Cardiff Council is in Wales" when every entry names (or, naming none, the letter
    names) a council outside England; "" otherwise."""
    places = []
    for draft in parsed.submissions:
        named = next((e.elsewhere for e in draft.errors if e.elsewhere), "")
        if not named and "council" not in draft.values:
            found = councils.outside_mentioned(body)
            named = f"{found[0]} is in {found[1]}" if found else ""
        if not named:
            return ""
        places.append(named)
    return places[0] if places else ""


def _classify(
    subject: str, body: str, *, campaign: Campaign, councils: CouncilRegister
) -> Parsed:
    subject = " ".join((subject or "").split())
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    text = f"{subject}\n{body}".strip() if subject else body.strip()
    references = find_references(f"{subject}\n{body}", campaign)
    lines = label_lines(body, vocabulary_of(campaign))

    if references and asks_to_withdraw(text, campaign):
        return Parsed("withdraw", references=references, text=text)
    if references and any(line.target[0] in ("field", "role", "region") for line in lines):
        return _amend(references[0], lines, campaign, councils, text, references)

    nomination = nomination_in(lines, subject, body, campaign, councils, amend=False)
    submissions = submissions_in(lines, subject, body, campaign, councils)
    if submissions or nomination:
        kind: Kind = "submission" if submissions else "nomination"
        return Parsed(kind, submissions, [nomination] if nomination else [], None, references, text)

    query = detect_query(subject, body, campaign=campaign)
    if query is not None:
        return Parsed("query", query=query, references=references, text=text)
    intended = intended_offers(subject, body, campaign)
    if intended:
        return Parsed("submission", [SubmissionDraft(key) for key in intended], references=references, text=text)
    if nomination_intended(subject, body, campaign) and NOMINATING.search(f"{subject}\n{body}"):
        draft = NominationDraft(errors=[region_missing()])
        return Parsed("nomination", nominations=[draft], references=references, text=text)
    return Parsed("enquiry", references=references, text=text)


def _amend(
    reference: str, lines: list[Line], campaign: Campaign, councils: CouncilRegister,
    text: str, references: list[str],
) -> Parsed:
    """A change to an earlier submission: only the values given, for the referenced offer."""
    prefix = reference.split("-", 1)[0]
    if prefix.upper() == campaign.nomination.reference_prefix.upper():
        draft = nomination_in(lines, "", "", campaign, councils, amend=True) or NominationDraft()
        return Parsed("amend", nominations=[draft], references=references, text=text)
    offer = campaign.offer_by_prefix(prefix)
    draft = SubmissionDraft(offer.key if offer else "")
    if offer is not None:
        specs = {spec.key: spec for spec in campaign.fields_for(offer)}
        for line in lines:
            if line.target[0] == "field" and line.target[1] in specs and line.value:
                store_value(draft, specs[line.target[1]], line.value, councils)
    return Parsed("amend", submissions=[draft], references=references, text=text)
