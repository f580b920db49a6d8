"""A kept message as the team sees it: who sent it, when, what it said (the channel's
own reading, shown as text, never as the sender's HTML) and what was attached."""
from __future__ import annotations

import email
import email.policy
from typing import Any

from intake.messages import Authentication
from intake.models import InboundMessage
from intake.service import IntakeService


def shown(row: InboundMessage, service: IntakeService) -> dict[str, Any]:
    reader = service.channels.readers.get(row.channel)
    text, subject, sender = "", row.subject, row.sender
    if reader is not None:
        try:
            message = reader(row)
            text, subject, sender = message.text, message.subject or row.subject, message.sender or row.sender
        except Exception:  # noqa: BLE001 - an unreadable message is still shown raw
            text = ""
    proof = Authentication.from_json(row.authentication)
    return {
        "id": row.id, "channel": row.channel, "sender": sender or "unknown sender", "subject": subject,
        "received": service.when(row.received_at), "status": row.status, "classification": row.classification or "",
        "detail": row.detail or "", "text": text or _raw_text(row.raw), "attachments": attachments(row),
        "proven": bool(proof and proof.proven), "proof": proof.describe() if proof else "not checked",
    }


def attachments(row: InboundMessage) -> list[dict[str, Any]]:
    """Each attached file's name, type and size (an email's); nothing is opened."""
    if row.channel != "email":
        return [{"name": f.get("name") or "file", "type": f.get("mimetype") or "", "size": f.get("size") or 0}
                for f in (row.meta or {}).get("files", []) if isinstance(f, dict)]
    found = []
    try:
        parsed = email.message_from_bytes(row.raw, policy=email.policy.default)
        for part in parsed.walk():
            if part.is_multipart() or part.get_content_disposition() not in ("attachment", "inline"):
                continue
            name = part.get_filename()
            if part.get_content_disposition() == "inline" and not name:
                continue
            payload = part.get_payload(decode=True) or b""
            found.append({"name": name or "(unnamed)", "type": part.get_content_type(), "size": len(payload)})
    except Exception:  # noqa: BLE001 - broken or nested past the parser's depth: list none
        return found
    return found


def _raw_text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")[:20000]
