"""What has been received, as plain records for exports and the team (`cib export`,
`/cib export`): one dict per submission, nomination and enquiry. Pure: rows in, data out."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from intake.campaign.register import CouncilRegister
from intake.messages import Authentication
from intake.models import Enquiry, Nomination, Submission


def records(
    submissions: Sequence[Submission],
    nominations: Sequence[Nomination],
    enquiries: Sequence[Enquiry],
    councils: CouncilRegister,
    *,
    proofs: Mapping[int, Any] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """`proofs`: the authentication kept with each inbound message, by its id."""
    proofs = proofs or {}
    return {
        "submissions": [
            {**submission_record(s, councils), **_proof(s.sender, proofs.get(s.inbound_id or 0))} for s in submissions
        ],
        "nominations": [
            {**nomination_record(n, councils), **_proof(n.sender, proofs.get(n.inbound_id or 0))} for n in nominations
        ],
        "enquiries": [
            {"sender": e.sender, "channel": e.channel, "text": e.text, "received_at": e.received_at.isoformat()}
            for e in enquiries
        ],
    }


def submission_record(submission: Submission, councils: CouncilRegister) -> dict[str, Any]:
    council = councils.get(submission.council_code)
    return {
        "reference": submission.reference,
        "offer": submission.offer,
        "council_code": submission.council_code,
        "council": council.name if council else "",
        "region": council.region if council else "",
        "contact_name": submission.contact_name,
        "contact_email": submission.contact_email,
        "channel": submission.channel,
        "received_at": submission.received_at.isoformat(),
        "late": submission.late,
        "verified": submission.verified,
        "status": submission.status,
        "decision": submission.decision or "",
        "place": submission.place,
        "fields": submission.fields,
    }


def nomination_record(nomination: Nomination, councils: CouncilRegister) -> dict[str, Any]:
    council = councils.get(nomination.council_code or "")
    return {
        "reference": nomination.reference,
        "region": nomination.region,
        "role": nomination.role,
        "name": nomination.name,
        "council_code": nomination.council_code,
        "council": council.name if council else "",
        "email": nomination.email,
        "channel": nomination.channel,
        "received_at": nomination.received_at.isoformat(),
        "late": nomination.late,
        "verified": nomination.verified,
    }


def _proof(sender: str | None, kept: Any) -> dict[str, Any]:
    """Who sent an entry and what was proven about them, for the team to judge."""
    authentication = Authentication.from_json(kept)
    return {"sender": sender or "", "sender_authentication": authentication.describe() if authentication else ""}
