"""Confirmation tokens, as mailing lists use them: a change that needs the contact on
record's word is held, and they are sent a one-time token to reply with, in the Reply-To
plus address (eoi+confirm-<token>@...) and in the subject ("confirm <token>"). Pure."""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import timedelta

EXPIRY = timedelta(days=7)
# 96 random bits, lower-case hex: survives mail systems that fold the case of addresses.
_TOKEN = re.compile(r"\bconfirm[-+\s:]+([0-9a-f]{24})\b", re.IGNORECASE)


def new_token() -> str:
    return secrets.token_hex(12)


def find_token(texts: Iterable[str | None]) -> str | None:
    """The first token in a subject or a recipient address, if any."""
    for text in texts:
        match = _TOKEN.search(text or "")
        if match:
            return match.group(1).lower()
    return None


def reply_address(intake_address: str, token: str) -> str:
    """eoi@cib.example -> eoi+confirm-<token>@cib.example"""
    local, _, domain = intake_address.partition("@")
    return f"{local}+confirm-{token}@{domain}"


def base_address(address: str) -> str:
    """eoi+anything@cib.example -> eoi@cib.example (RFC 5233 subaddressing)."""
    local, at, domain = address.partition("@")
    return f"{local.partition('+')[0]}{at}{domain}"


_REFUSAL = re.compile(
    r"^\W*(no|nope|not|don'?t|do not|didn'?t|did not|decline[ds]?|refused?|reject(ed)?|stop|never|wrong|fraud)\b",
    re.IGNORECASE,
)
_AGREEMENT = re.compile(r"^\W*(yes|yeah|yep)\b", re.IGNORECASE)

# A contact is mailed at most this many requests a day, whoever asks and for whichever entry.
PER_CONTACT_A_DAY = 3


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def refuses(text: str) -> bool:
    """Whether a reply to a confirmation request says no. Only its first line counts
    ("No", "Not me"): signatures and disclaimers below (which often say "not") are never
    read as an answer."""
    return bool(_REFUSAL.match(_first_line(text)))


def agrees(text: str) -> bool:
    """Whether a reply says yes: "Yes" as the first word of its first line. An empty
    reply, an out-of-office that got through or a helpdesk's "your request has been
    logged" is not a yes, so a busy officer's click on Reply hands nothing over."""
    return bool(_AGREEMENT.match(_first_line(text)))


def why_not_ask(*, waiting: int, asked_today: int, by_team: bool) -> str | None:
    """Why a held change is not sent for confirmation: "waiting" (a change to the same
    entry waits already: one at a time, so nobody is asked to confirm a pile of them)
    or "busy" (its contact has had their requests for the day); None to ask."""
    if waiting:
        return "waiting"
    if not by_team and asked_today >= PER_CONTACT_A_DAY:
        return "busy"
    return None


def also_told(listed: Iterable[str], *, contact: str, requester: str | None, new: Iterable[str]) -> list[str]:
    """The council's listed contacts who are told of a change of contact: never the
    contact already asked, the requester or the address that would take over."""
    skip = {contact.lower(), (requester or "").lower(), *(a.lower() for a in new)}
    out: list[str] = []
    for address in listed:
        if address.lower() not in skip and address.lower() not in out:
            out.append(address.lower())
    return out
