"""Helpers that put realistic messages through the real service (RFC 5322 bytes in, the
same `service.receive` the SMTP handler calls), for the reminder, digest and schedule
tests and for docs/digest_example.py."""
from __future__ import annotations

import textwrap
from email.message import EmailMessage
from email.utils import make_msgid

from intake.runtime.composition import Runtime
from intake.messages import Inbound, Outcome
from tests.mailer import stamp

FIELDS = {
    "pbr-pathfinder": ("PbR pathfinder", "Number of children's centres: 9"),
    "children-centres-support": ("Children's centres support", "Support needed: Reviewing sufficiency of centres in rural areas"),
    "early-adopter": ("Early adopter", "Areas for peer challenge: Early help and the front door"),
}


def email(body: str, *, sender: str, subject: str) -> tuple[bytes, str]:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "eoi@cib.test"
    mail["Subject"] = subject
    message_id = make_msgid(domain=sender.rpartition("@")[2] or "example.org")
    mail["Message-ID"] = message_id
    mail.set_content(textwrap.dedent(body).strip() + "\n")
    return bytes(mail), message_id


async def receive(runtime: Runtime, body: str, *, sender: str, subject: str) -> Outcome:
    raw, message_id = email(body, sender=sender, subject=subject)
    raw = stamp(raw)  # passed on by the border server, the sender proven (see tests/mailer.py)
    return await runtime.service.receive(Inbound(channel="email", raw=raw, sender=sender, external_id=message_id))


async def submit(runtime: Runtime, offer: str, council: str, *, sender: str, name: str = "Alex Morgan") -> Outcome:
    title, extra = FIELDS[offer]
    body = f"""
        Offer: {title}
        Council: {council}
        Contact name: {name}
        Contact role: Head of Service
        {extra}
    """
    outcome = await receive(runtime, body, sender=sender, subject=f"Expression of interest: {title}")
    assert outcome.classification == "submission" and outcome.replies[0].kind == "ack", outcome
    return outcome


async def nominate(runtime: Runtime, region: str, people: dict[str, str], *, sender: str) -> Outcome:
    lines = "\n".join(f"        {role}: {who}" for role, who in people.items())
    body = f"        Region: {region}\n{lines}\n"
    outcome = await receive(runtime, body, sender=sender, subject=f"Regional leads for {region}")
    assert outcome.classification == "nomination" and outcome.replies[0].kind == "ack", outcome
    return outcome


async def flush(runtime: Runtime) -> None:
    """Wait until every recorded email has been handed to the relay (by this call or by
    the background delivery worker, whichever claimed it)."""
    import asyncio

    for _ in range(500):
        await runtime.delivery.deliver_due()
        async with runtime.store.reader() as unit:
            waiting = [r for r in await unit.outbound.all() if r.channel == "email" and r.status in ("pending", "sending")]
        if not waiting:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError(f"not delivered: {[(r.kind, r.recipient, r.status, r.error) for r in waiting]}")
