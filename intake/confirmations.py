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


def refuses(text: str) -> bool:
    """Whether a reply to a confirmation request says no. Only its first line counts
    ("No", "Not me"): an empty reply confirms, and signatures and disclaimers below
    (which often say "not") are never read as an answer."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return bool(_REFUSAL.match(first))
