"""Header safety over real SMTP: an address hidden in an encoded display name never
becomes a recipient; the name is cleaned before it is shown anywhere."""
from __future__ import annotations

from tests.mailer import send, settle

INJECTED = (
    b"From: =?utf-8?q?Sam=0D=0ABcc=3A_evil=40evil=2Etest?= <sam.k@leeds.gov.uk>\r\n"
    b"To: eoi@cib.test\r\n"
    b"Subject: Deadlines\r\n"
    b"Message-ID: <inject-1@leeds.gov.uk>\r\n"
    b"\r\n"
    b"When are the deadlines?\r\n"
)


async def test_encoded_crlf_in_a_display_name_cannot_steer_the_reply(runtime, relay):
    code, _ = await send(runtime, INJECTED, mail_from="sam.k@leeds.gov.uk")
    assert code == 250
    await settle(runtime)
    [(mail_from, recipients)] = relay.envelopes
    assert recipients == ["sam.k@leeds.gov.uk"]
    [reply] = relay.messages
    assert reply["To"] == "sam.k@leeds.gov.uk"
    assert reply["Bcc"] is None and reply["Cc"] is None
    assert "evil" not in bytes(reply).decode("utf-8", "replace").split("\n\n", 1)[0].lower()
    async with runtime.store.reader() as unit:
        [row] = [await unit.inbound.get(i) for i in await unit.inbound.ids()]
    assert row.sender == "sam.k@leeds.gov.uk" and row.classification == "query"
