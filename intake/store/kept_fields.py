"""What a kept message's fields may hold: every value the inbound table takes from a
message, bounded to its column and cleaned of what a database refuses in text (NUL, lone
surrogates; in JSON also NaN and infinities), so that keeping a message never fails for
what it says. The raw bytes are kept as they came; these fields are for finding and
showing it."""
from __future__ import annotations

import hashlib
import math
from typing import Any

from intake.messages import storable
from intake.models import InboundMessage

EXTERNAL_ID_LENGTH = InboundMessage.__table__.c.external_id.type.length
# PostgreSQL's unique index takes at most about 2,700 bytes an entry.
EXTERNAL_ID_BYTES = 2000
SENDER_LENGTH = InboundMessage.__table__.c.sender.type.length
SUBJECT_LENGTH = 998  # a header line's length (RFC 5322); more is no subject anyone reads


def identity(external_id: str | None) -> str | None:
    """What a message is known by, as the column holds it: storable text no longer than
    the column, nor than its index takes in bytes. A longer one stands as its hash, so
    that the same message sent again is still recognised. "" would make every such
    message one."""
    if not external_id:
        return None
    text = storable(external_id) or ""
    if len(text) > EXTERNAL_ID_LENGTH or len(text.encode()) > EXTERNAL_ID_BYTES:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


def address(sender: str | None) -> str | None:
    """An address as the column holds it; one longer than any address can be (RFC 5321)
    is not an address, and is left out (the raw message still has it)."""
    text = storable(sender)
    return text if text and len(text) <= SENDER_LENGTH else None


def subject(text: str | None) -> str:
    return (storable(text) or "")[:SUBJECT_LENGTH]


def json_value(value: Any) -> Any:
    """`value` as JSON every database takes: strings (keys too) storable, numbers finite,
    anything else as its text."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(key)): json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    return storable(str(value))
