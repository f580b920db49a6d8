"""What has been received, as plain records for exports and the team (`cib export`,
`/cib export`): one dict per submission, nomination and enquiry. Pure: rows in, data out."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from intake.councils import CouncilRegister
from intake.models import Enquiry, Nomination, Submission


def records(
    submissions: Sequence[Submission],
    nominations: Sequence[Nomination],
    enquiries: Sequence[Enquiry],
    councils: CouncilRegister,
) -> dict[str, list[dict[str, Any]]]:
    return {
        "submissions": [submission_record(s, councils) for s in submissions],
        "nominations": [nomination_record(n, councils) for n in nominations],
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
