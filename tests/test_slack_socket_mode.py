"""Socket Mode (SLACK_APP_TOKEN instead of a public URL): the same listeners, acked over
the stand-in's WebSocket."""
from __future__ import annotations

from slack_support.harness import CAMDEN, make_api, slack_settings
from slack_support.signing import command_form, dm_event, event_envelope
from slack_support.webapi import APP_TOKEN

from intake.runtime.composition import create_service


async def test_socket_mode_answers_events_and_commands(settings_factory, clock):
    api = await make_api().start()
    settings = slack_settings(settings_factory, api, SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET=None)
    runtime = create_service(settings, clock=clock)
    await runtime.start(smtp=False, slack=True, scheduler=False)
    try:
        assert runtime.slack.mode == "socket" and runtime.slack.port is None
        event = dm_event(CAMDEN, "when is the PbR deadline?")
        ack = await api.push({"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                              "retry_attempt": 0, "retry_reason": "", "payload": event_envelope(event)})
        assert ack["envelope_id"] == "env-1"
        ack = await api.push({"envelope_id": "env-2", "type": "slash_commands", "accepts_response_payload": True,
                              "payload": command_form(CAMDEN, "withdraw")})
        assert "PBR-0007" in ack["payload"]["text"]
        await runtime.slack.drain(10)
        [reply] = [c for c in api.calls_to("chat.postMessage") if c["channel"] == "D0CAMDEN1"]
        assert reply["thread_ts"] == event["ts"]
        assert "Thursday 27 May 2027, 5pm" in reply.all_text()
        [connect] = api.calls_to("apps.connections.open")
        assert connect.headers["Authorization"] == f"Bearer {APP_TOKEN}"
    finally:
        await runtime.stop()
        await api.stop()
