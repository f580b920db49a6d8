"""Replies only to where they belong, over real SMTP: never to a third party named in a
Reply-To, never to our own addresses or no-reply senders, never to machines' mail however
it is marked; and a From that names two mailboxes proves no one."""
from __future__ import annotations

import pytest

from tests.mailer import message, send, settle

PBR = """
    Council: Wigan
    Contact name: Alex Morgan
    Contact role: Head of Service
    Number of children's centres: 7
"""


async def test_a_reply_to_at_a_third_party_is_not_answered_the_sender_is(runtime, relay):
    raw = message("Cheap meds at http://spam.test", sender="alex@wigan.gov.uk", subject="Cheap meds",
                  headers={"Reply-To": "victim@third.test"})
    await send(runtime, raw)
    await settle(runtime)
    assert relay.to("victim@third.test") == [] and len(relay.to("alex@wigan.gov.uk")) == 1


async def test_a_reply_to_at_the_senders_own_domain_is_answered(runtime, relay):
    await send(runtime, message(PBR, sender="alex@wigan.gov.uk", headers={"Reply-To": "early.help@wigan.gov.uk"}))
    await settle(runtime)
    assert len(relay.to("early.help@wigan.gov.uk")) == 1 and relay.to("alex@wigan.gov.uk") == []


@pytest.mark.parametrize("sender, headers", [
    ("eoi@cib.test", {}),  # our own address
    ("eoi+confirm-abc@cib.test", {}),
    ("noreply@wigan.gov.uk", {}),
    ("no-reply@wigan.gov.uk", {}),
    ("DoNotReply@wigan.gov.uk", {}),
    ("alex@wigan.gov.uk", {"X-Loop": "eoi@cib.test"}),
    ("alex@wigan.gov.uk", {"Precedence": "auto_reply"}),
    ("alex@wigan.gov.uk", {"X-Auto-Response-Suppress": "All"}),
])
async def test_machines_and_ourselves_are_never_answered(runtime, relay, sender, headers):
    await send(runtime, message(PBR, sender=sender, headers=headers), mail_from=sender)
    await settle(runtime)
    assert relay.messages == []
    async with runtime.store.reader() as unit:
        [row] = await unit.inbound.since(runtime.clock().replace(year=2000))
    assert row.status in ("ignored", "processed")  # kept either way


async def test_a_person_who_asks_for_no_automatic_replies_is_still_recorded(runtime, relay):
    # Outlook sets the header on a person's mail too: the entry counts; only the
    # automatic reply is not sent.
    await send(runtime, message(PBR, sender="alex@wigan.gov.uk", headers={"X-Auto-Response-Suppress": "All"}))
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["verified"] is True and relay.messages == []


async def test_a_delivery_report_inside_multipart_mixed_is_a_bounce(runtime, relay):
    raw = (b"From: postoffice@wigan.gov.uk\r\nTo: eoi@cib.test\r\nSubject: Your message\r\n"
           b"Message-ID: <dsn-mixed@wigan.gov.uk>\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n'
           b"Could not deliver.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
           b"Reporting-MTA: dns; mx.wigan.gov.uk\r\n\r\nFinal-Recipient: rfc822; gone@wigan.gov.uk\r\n"
           b"Action: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n")
    await send(runtime, raw, mail_from="postoffice@wigan.gov.uk")
    await settle(runtime)
    assert relay.messages == []


@pytest.mark.parametrize("from_header", [
    "alex@wigan.gov.uk, eve@evil.test",
    "<alex@wigan.gov.uk>@evil.test",
])
async def test_a_from_with_two_mailboxes_proves_no_one(runtime, relay, from_header):
    raw = message(PBR, sender=from_header)
    await send(runtime, raw, mail_from="eve@evil.test")
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["verified"] is False
