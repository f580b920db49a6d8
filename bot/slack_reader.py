"""The Slack channel's reader for the pipeline: a kept Slack row back into a `Message`.
The text was made plain (`bot/mrkdwn.py`) and the form read (`bot/modal_forms.py`) before the
payload was kept, so reading is only unpacking what the bot stored beside it."""
from __future__ import annotations

from intake.messages import Authentication, FormInput, Message
from intake.models import InboundMessage


def read_slack_row(row: InboundMessage) -> Message:
    meta = row.meta or {}
    form = meta.get("form")
    return Message(
        channel=row.channel,
        sender=row.sender,
        reply_to=None,
        subject=row.subject,
        text=meta.get("text") or "",
        form=FormInput(kind=form["kind"], values=form["values"], offer=form.get("offer")) if form else None,
        admin=bool(meta.get("admin")),
        quiet=bool(meta.get("quiet")),
        meta=meta,
    )


async def slack_authentication(row: InboundMessage) -> Authentication:
    """Slack signed the user in and verified their profile email (and signed the request,
    checked before anything was kept): the email's domain is proven. Whether it is a
    council's domain is for the pipeline to judge, as for email."""
    domain = (row.sender or "").rpartition("@")[2].lower() or None
    return Authentication(method="slack", domain=domain, proven=domain is not None, results="")
