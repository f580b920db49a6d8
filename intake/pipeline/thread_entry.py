"""A reply in a thread of ours is about the entry our message named.

Pressing Reply on an acknowledgement or a decision keeps the thread (In-Reply-To,
References) and quotes our text, but the sender's own new text rarely repeats the
reference. When a message names no reference and answers one of our messages, the
references our message named are read into it: a change becomes an amendment of that
entry (under the usual rules on who may change what), a withdrawal in words a withdrawal,
and it never becomes a second expression of interest for an offer the entry already is.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from email import policy
from email.parser import BytesParser

from intake.campaign.definition import Campaign
from intake.parsing import Parsed
from intake.parsing.offers import offers_in
from intake.parsing.references import find_references

# What a message that names no reference may have been read as, for the thread to count.
OPEN_TO_THE_THREAD = ("enquiry", "submission")


def thread_references(ours: Sequence[tuple[str, bytes]], campaign: Campaign) -> list[str]:
    """The references our messages in the thread named (subject first, then the text), in
    order. Only our own messages are read, never a sender's quote of them."""
    found: list[str] = []
    for subject, body in ours:
        for reference in find_references(f"{subject}\n{_text_of(body)}", campaign):
            if reference not in found:
                found.append(reference)
    return found


def _text_of(sent: bytes) -> str:
    """The text parts of a message as we sent it (an email's, decoded from its transfer
    encoding); anything else (a Slack post's JSON) as it is."""
    try:
        parsed = BytesParser(policy=policy.default).parsebytes(sent)
        parts = [p.get_content() for p in parsed.walk() if p.get_content_type() == "text/plain"]
    except Exception:  # noqa: BLE001 - our own bytes, but a reply must never fail on them
        parts = []
    return "\n".join(str(p) for p in parts) or sent.decode("utf-8", "replace")


def offer_of(reference: str, campaign: Campaign) -> str | None:
    prefix = reference.split("-", 1)[0].upper()
    for offer in campaign.offers:
        if offer.reference_prefix.upper() == prefix:
            return offer.key
    return campaign.nomination.key if campaign.nomination.reference_prefix.upper() == prefix else None


def read_in_thread(
    parsed: Parsed, references: list[str], text: str, campaign: Campaign, reparse: Callable[[str], Parsed]
) -> Parsed:
    """What the message is, read as being about `references` (our thread's); `reparse`
    parses it again with a subject that names them."""
    if parsed.references or not references or parsed.kind not in OPEN_TO_THE_THREAD:
        return parsed
    named = set(offers_in(text, campaign))
    if len(references) > 1 and named:  # our message named several: those the sender names
        references = [r for r in references if offer_of(r, campaign) in named] or references
    entries = {offer_of(r, campaign) for r in references}
    if parsed.kind == "submission" and not {s.offer for s in parsed.submissions} <= entries:
        return parsed  # an offer the thread's entries are not: a new expression of interest
    again = reparse(" ".join(references))
    if again.kind in ("withdraw", "amend"):
        return again
    return replace(parsed, references=references) if parsed.kind == "enquiry" else parsed
