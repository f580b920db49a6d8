"""Template data the kinds put in their replies (plain, JSON-able dicts)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from intake.parsing.confirmation_tokens import EXPIRY
from intake.models import Submission
from intake.parsing import FieldError, SubmissionDraft
from intake.pipeline.run import Run, World
from intake.reports.reply_data import deadline_view, display, errors_view, nomination_form_view, submission_view


def submission_context(world: World, submission: Submission, now: datetime, changes: dict[str, Any]) -> dict[str, Any]:
    view = submission_view(submission, world.campaign, world.councils, now)
    offer = world.campaign.offer(submission.offer)
    titles = {spec.key: spec.title for spec in world.campaign.fields_for(offer)}
    view["changes"] = [titles.get(key, key) for key in changes]
    view["capacity"] = offer.capacity
    view.setdefault("inferred", [])
    return view


def which_offer(run: Run, draft: SubmissionDraft) -> dict[str, Any]:
    """Fields without an offer we can tell: ask which, with the common form filled."""
    campaign, councils = run.world.campaign, run.world.councils
    values = {**draft.values}
    for spec in campaign.common_fields:
        if spec.key == "contact_email" and spec.key not in values and run.sender:
            values[spec.key] = run.sender
    errors = list(draft.errors) or [FieldError("offer", "Which offer is this expression of interest for?")]
    choices = " / ".join(o.short_title for o in campaign.offers)
    lines = [f"Offer: ({choices})"] + [
        f"{spec.title}: {display(spec, values.get(spec.key), councils)}" for spec in campaign.common_fields
    ]
    return {
        "offer": "",
        "offer_title": "Expression of interest",
        "offer_short_title": "Expression of interest",
        "errors": errors_view(errors, campaign, None),
        "form": {"offer": "", "title": "Expression of interest", "rows": [], "lines": lines},
        "deadline": None,
    }


def nomination_incomplete(world: World, errors: list[FieldError], now: datetime) -> dict[str, Any]:
    nomination = world.campaign.nomination
    return {
        "offer": nomination.key,
        "offer_title": nomination.title,
        "offer_short_title": nomination.short_title,
        "errors": errors_view(errors, world.campaign, None),
        "form": nomination_form_view(world.campaign),
        "deadline": deadline_view(nomination, world.campaign, now),
    }


def common_context(run: Run) -> dict[str, Any]:
    """What every reply may mention: the campaign, where to write, who wrote."""
    world, message = run.world, run.msg
    council = world.councils.by_email(run.sender)
    return {
        "campaign_name": world.campaign.campaign.name,
        "team_name": world.campaign.campaign.team_name,
        "intake_address": world.intake_address,
        "sender": run.sender,
        "sender_council": council.name if council else None,
        "channel": message.channel,
        "subject": message.subject,
        "confirm_days": EXPIRY.days,
    }
