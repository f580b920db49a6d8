"""The facts reminders are planned from, read from the store in one go."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from intake.reports import reminders as plan
from intake.campaign.definition import Campaign
from intake.messages import Authentication
from intake.jobs.job_deps import JobDeps
from intake.models import Submission
from intake.reports.reminders import Facts, NominationFact, SubmissionFact


async def read_facts(deps: JobDeps) -> Facts:
    """Submissions, current nominations and every sender, as plain facts for planning."""
    async with deps.store.reader() as unit:
        submissions = await unit.submissions.all()
        nominations = await unit.nominations.all()
        history = await unit.inbound.sender_history()
    facts = Facts(submissions=submission_facts(submissions, deps.campaign))
    facts.nominations = [
        NominationFact(region=n.region, role=n.role, name=n.name, council_code=n.council_code, sender=n.sender)
        for n in nominations
    ]
    facts.senders = plan.senders_by_council(
        ((sender, _proven(sender, proof)) for sender, _, proof in history), deps.councils
    )
    return facts


def submission_facts(submissions: Iterable[Submission], campaign: Campaign) -> list[SubmissionFact]:
    """Each submission as a plain fact, with the other councils its cluster names."""
    cluster_fields = {
        offer.key: [spec.key for spec in campaign.fields_for(offer) if spec.type == "councils"]
        for offer in campaign.offers
    }
    facts = []
    for s in submissions:
        also: list[str] = []
        for key in cluster_fields.get(s.offer, ()):
            value = (s.fields or {}).get(key)
            if isinstance(value, list):
                also += [str(code) for code in value]
        facts.append(SubmissionFact(
            council_code=s.council_code, offer=s.offer, reference=s.reference, status=s.status,
            received_at=s.received_at, late=s.late, verified=s.verified, also_councils=tuple(also),
        ))
    return facts


def _proven(sender: str, proof: dict[str, Any] | None) -> bool:
    judged = Authentication.from_json(proof)
    return bool(judged and judged.proven and judged.domain == sender.rpartition("@")[2].lower())
