"""Permanent is permanent, at the real boundaries: a relay's 5xx (for the message or for its
recipient) and Slack's channel_not_found end a send at once as failed, shown to the team
in Needs a person and the next digest; a 4xx, or Slack's errors that may pass (or that
are our own set-up's, every post would meet them), are tried again with the backoff."""
from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from slack_support.harness import CAMDEN, slack  # noqa: F401
from slack_support.signing import dm_event, event_envelope

from intake.jobs import send_digest
from intake.mail.sender import EmailCarrier, RelayTransport
from intake.models import OutboundMessage
from intake.outbox.send_errors import Refused
from tests.conftest import Relay, serving_smtp
from tests.mailer import message, send, settle
from tests.team_browser import TeamBrowser

QUESTION = "What is the deadline for the pathfinder?"
OFFICER = "alex.morgan@wigan.gov.uk"


async def _replies(runtime, channel: str = "email") -> list[OutboundMessage]:
    async with runtime.store.reader() as unit:
        return [row for row in await unit.outbound.all(channel=channel) if row.kind.startswith("reply-")]


async def _ask(runtime) -> OutboundMessage:
    assert (await send(runtime, message(QUESTION, sender=OFFICER), mail_from=OFFICER))[0] == 250
    await settle(runtime)
    [reply] = await _replies(runtime)
    return reply


async def _shown_to_the_team(runtime, relay, row: OutboundMessage) -> None:
    """In Needs a person (the workspace) and in the next digest, with why."""
    async with TeamBrowser(runtime) as browser:
        await browser.sign_in(runtime, relay)
        page = await browser.get("/team/needs")
    assert page.status == 200
    failed = page.soup.find(id="failed")
    assert failed is not None and row.recipient in failed.get_text() and "550" in failed.get_text()
    report = await send_digest(runtime.jobs, now=runtime.clock(), on_demand=True)
    assert f"#{row.id}" in (report.text or "") and row.recipient in (report.text or "")


async def test_a_relays_550_for_the_message_fails_the_send_at_once(runtime, relay, clock):
    relay.refuse_next = 1
    reply = await _ask(runtime)
    assert (reply.status, reply.attempts) == ("failed", 1) and reply.error.startswith("550 ")
    assert relay.to(OFFICER) == []
    await _shown_to_the_team(runtime, relay, reply)
    clock.set(clock() + timedelta(hours=6))  # long past every retry there would have been
    await runtime.delivery.flush()
    assert relay.to(OFFICER) == [] and [(r.status, r.attempts) for r in await _replies(runtime)] == [("failed", 1)]


async def test_a_relays_451_is_tried_again_later(runtime, relay, clock):
    relay.fail_next = 1
    reply = await _ask(runtime)
    assert (reply.status, reply.attempts) == ("pending", 1) and reply.next_attempt_at > clock()
    clock.set(reply.next_attempt_at)
    await runtime.delivery.flush()
    assert len(relay.to(OFFICER)) == 1 and [r.status for r in await _replies(runtime)] == ["sent"]


class RefusingRecipients(Relay):
    """A relay that refuses some recipients at RCPT (550 5.1.1) and takes the rest."""

    refused: tuple[str, ...] = ()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if address.lower() in self.refused:
            return f"550 5.1.1 <{address}>: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
async def refusing_relay():
    async with serving_smtp(RefusingRecipients()) as relay:
        yield relay


async def test_a_550_for_the_recipient_fails_the_send_at_once(runtime, relay, refusing_relay):
    refusing_relay.refused = (OFFICER,)
    runtime.delivery.transport.transport.port = refusing_relay.port
    reply = await _ask(runtime)
    assert (reply.status, reply.attempts) == ("failed", 1)
    assert reply.error.startswith(f"{OFFICER}: 550 5.1.1") and refusing_relay.messages == []
    runtime.delivery.transport.transport.port = relay.port  # the team's sign-in mail goes the usual way
    await _shown_to_the_team(runtime, relay, reply)


async def test_a_message_some_recipients_took_is_not_sent_again_to_them(refusing_relay):
    refusing_relay.refused = ("gone@wigan.gov.uk",)
    carrier = EmailCarrier(RelayTransport("127.0.0.1", refusing_relay.port), envelope_sender="eoi@cib.test")
    body = message("Thank you.", sender="eoi@cib.test", to="alex@wigan.gov.uk", headers={"Cc": "gone@wigan.gov.uk"})
    row = OutboundMessage(kind="reply-ack", channel="email", recipient="alex@wigan.gov.uk", body=body)
    with pytest.raises(Refused, match=r"gone@wigan.gov.uk: 550 .*sent to alex@wigan.gov.uk"):
        await carrier.send(row)
    assert [to for _, to in refusing_relay.envelopes] == [["alex@wigan.gov.uk"]]


# --- Slack ----------------------------------------------------------------------------------


async def _dm_reply(world) -> OutboundMessage:
    await world.send.event(event_envelope(dm_event(CAMDEN, QUESTION)))
    await world.settle()
    [reply] = await _replies(world.runtime, "slack")
    return reply


async def test_slacks_channel_not_found_fails_the_post_at_once(slack, relay, clock):  # noqa: F811
    slack.api.fail_next("chat.postMessage", error="channel_not_found", times=5)
    reply = await _dm_reply(slack)
    assert (reply.status, reply.attempts, reply.error) == ("failed", 1, "Slack: channel_not_found")
    assert len(slack.posts()) == 1
    clock.set(clock() + timedelta(hours=6))
    await slack.runtime.slack_poster.flush()
    assert len(slack.posts()) == 1  # not tried again
    report = await send_digest(slack.runtime.jobs, now=clock(), on_demand=True)
    assert f"#{reply.id}" in (report.text or "") and "channel_not_found" in (report.text or "")


@pytest.mark.parametrize("error", ["ratelimited", "internal_error", "invalid_auth", "account_inactive"])
async def test_slacks_passing_and_set_up_errors_are_tried_again(slack, clock, error):  # noqa: F811
    slack.api.fail_next("chat.postMessage", error=error)
    reply = await _dm_reply(slack)
    assert (reply.status, reply.attempts) == ("pending", 1) and f"'error': '{error}'" in reply.error
    clock.set(reply.next_attempt_at)
    await slack.runtime.slack_poster.flush()
    assert [r.status for r in await _replies(slack.runtime, "slack")] == ["sent"]
