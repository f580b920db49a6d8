"""A subject-access export: everything held about one address, as a ZIP the team can hand
over. `summary.json` says what is held, where, since when, why and until when; the
messages the person sent are there as they came (`messages/<id>.eml`, or the Slack
payload as `.json`), their attachments beside them, and what we sent them in `replies/`.
Messages from other people that mention them are listed, not included: they hold those
people's data too, for the team to judge. Pure: data in, bytes out."""
from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from email import policy
from email.parser import BytesParser
from typing import Any

from intake.campaign.definition import Campaign
from intake.campaign.records import nomination_record, submission_record
from intake.campaign.register import CouncilRegister
from intake.models import InboundMessage, Nomination, OutboundMessage, Submission
from intake.reports.personal_holdings import Holdings
from intake.reports.retention_plan import kept_until

# What each kind of record is, where the service holds it, why, and which retention
# period ends it ("raw" or "personal"; None: until it is spent).
RECORDS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("entries", "expressions of interest and nominations naming you",
     "the service's database (tables submissions, nominations)",
     "to record the council's or region's response to the Children's Improvement Board's offers", "personal"),
    ("messages", "messages you sent by email or Slack, as they came, with their attachments",
     "the service's database (table inbound_messages)",
     "to keep each message safely before it is processed, and to process it again if needed", "raw"),
    ("replies", "messages the service sent you (acknowledgements, reminders, answers)",
     "the service's database (table outbound_messages); the mail relay's or outbox folder's own copies",
     "to send each message once, and to show the team what was sent", "raw"),
    ("audit", "the audit trail of the entries and of your messages",
     "the service's database (table audit)", "to account for every change to an entry and who made it",
     "personal"),
    ("confirmations", "changes held until the contact on record confirmed them",
     "the service's database (table confirmations)", "to check a change with the entry's contact first", "raw"),
    ("drafts", "expressions of interest still missing something",
     "the service's database (table drafts)", "to complete an entry from a later message", "raw"),
    ("enquiries", "questions you asked the CIB team", "the service's database (table enquiries)",
     "to answer them", "personal"),
    ("sign_in", "sign-in links and sessions of the team's workspace",
     "the service's database (tables team_sign_in_links, team_sessions)",
     "to let CIB team members sign in", None),
    ("unreachable", "a note that mail to your address did not arrive",
     "the service's database (table unreachable_addresses)", "to stop sending to an address that bounces",
     "personal"),
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def summary(held: Holdings, records: dict[str, list[dict[str, Any]]], campaign: Campaign,
            *, made_at: datetime) -> dict[str, Any]:
    """What `summary.json` holds."""
    held_by = {key: getattr(held, key) for key, *_ in RECORDS}
    return {
        "about": {"address": held.address, "names": held.names, "phone_numbers": held.phones,
                  "slack_user_ids": held.slack_users},
        "made_at": made_at.isoformat(),
        "held_by": f"{campaign.campaign.team_name}, Children's Improvement Board",
        "held": [
            {"what": what, "where": where, "why": why, "count": len(held_by[key]),
             "kept_until": _until(campaign, period, held_by[key]) if period else "removed once used, lapsed or ended"}
            for key, what, where, why, period in RECORDS if held_by[key]
        ],
        "entries": records.get("submissions", []) + records.get("nominations", []),
        "details": {key: held_by[key] for key, *_ in RECORDS if key != "entries"},
        "not_included": "Messages other people sent that mention you are listed (from_them: false) but not "
                        "included: they hold those people's data too.",
    }


def _until(campaign: Campaign, period: str, rows: list[dict[str, Any]]) -> str:
    moments = [datetime.fromisoformat(r[k]) for r in rows for k in ("received_at", "created_at", "at") if r.get(k)]
    days = campaign.retention.raw_messages_days if period == "raw" else campaign.retention.personal_fields_days
    return kept_until(campaign, max(moments) if moments else None, days).isoformat()


def entry_records(submissions: Sequence[Submission], nominations: Sequence[Nomination],
                  councils: CouncilRegister) -> dict[str, list[dict[str, Any]]]:
    return {"submissions": [submission_record(s, councils) for s in submissions],
            "nominations": [nomination_record(n, councils) for n in nominations]}


def export_zip(held: Holdings, campaign: Campaign, *, records: dict[str, list[dict[str, Any]]],
               sent: Sequence[InboundMessage], replies: Sequence[OutboundMessage], made_at: datetime) -> bytes:
    """The ZIP: summary.json, the messages they sent with their attachments, our replies."""
    data = summary(held, records, campaign, made_at=made_at)
    out = io.BytesIO()
    stamp = made_at.timetuple()[:6]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        def add(name: str, content: bytes) -> None:
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), content, zipfile.ZIP_DEFLATED)

        for message in sent:
            suffix = "json" if message.channel == "slack" else "eml"
            add(f"messages/{message.id}.{suffix}", message.raw or b"")
            for n, (name, content) in enumerate(attachments(message.raw or b""), start=1):
                add(f"messages/{message.id}-attachments/{n:02d}-{name}", content)
        for reply in replies:
            add(f"replies/{reply.id}.{'json' if reply.channel == 'slack' else 'eml'}", reply.body or b"")
        add("summary.json", json.dumps(data, indent=2, ensure_ascii=False, default=_plain).encode("utf-8"))
    return out.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return str(value)


def attachments(raw: bytes) -> list[tuple[str, bytes]]:
    """(a safe file name, the bytes) of each attached file of an email; none for what
    is not an email or will not parse."""
    if raw.lstrip().startswith((b"{", b"[")):
        return []
    found = []
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        for part in message.walk():
            if part.is_multipart() or part.get_content_disposition() != "attachment" and not part.get_filename():
                continue
            content = part.get_payload(decode=True)
            if isinstance(content, bytes):
                name = _UNSAFE.sub("_", part.get_filename() or "attachment").strip("._")[:100] or "attachment"
                found.append((name, content))
    except Exception:
        return found
    return found
