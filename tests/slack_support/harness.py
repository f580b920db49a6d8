"""A running service with Slack on: the real IntakeService (temporary database), the bot's
real HTTP endpoint on a free loopback port, and the Web API stand-in it talks to.

Test modules import the `slack` fixture:  from slack_support.harness import slack  # noqa
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from intake.runtime.composition import Runtime, create_service
from intake.runtime.settings import Settings
from slack_support.signing import SIGNING_SECRET, SlackSender
from slack_support.webapi import BOT_TOKEN, FakeSlack

# The people in the stand-in workspace.
CAMDEN = "U0CAMDEN1"  # jo.bloggs@camden.gov.uk: London Borough of Camden
CAMDEN_2 = "U0CAMDEN2"  # sam.lee@camden.gov.uk
HULL = "U0HULL001"  # pat.doe@hull.gov.uk: Hull City Council
NO_EMAIL = "U0NOMAIL1"  # a profile without an email address
OUTSIDER = "U0OUTSID1"  # someone@example.com: no council
ADMIN = "U0CIBTEAM"  # a CIB team member (CIB_ADMIN_SLACK_USERS)
OTHER_BOT = "U0OTHBOT1"
TEAM_CHANNEL = "C0CIBTEAM"


@dataclass
class SlackWorld:
    runtime: Runtime
    api: FakeSlack
    send: SlackSender

    @property
    def runner(self) -> Any:
        return self.runtime.slack

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until everything acknowledged so far has been answered."""
        assert await self.runner.drain(timeout), "background work did not finish"

    def posts(self, channel: str | None = None) -> list[Any]:
        calls = self.api.calls_to("chat.postMessage")
        return [c for c in calls if channel is None or c["channel"] == channel]

    def dm(self, user: str) -> list[Any]:
        return self.posts("D" + user.lstrip("UW"))

    def team_notices(self) -> list[Any]:
        return self.posts(TEAM_CHANNEL)

    async def inbound(self) -> list[dict[str, Any]]:
        """Every kept message (the inbound_messages table), oldest first."""
        async with self.runtime.store.engine.connect() as connection:
            rows = await connection.execute(text(
                "SELECT id, channel, external_id, sender, status, classification, raw"
                " FROM inbound_messages ORDER BY id"
            ))
            return [dict(row._mapping) for row in rows]

    async def rename_inbound_table(self, name: str, to: str) -> None:
        """A real storage failure: the table messages are kept in is (or is back) not there."""
        async with self.runtime.store.engine.begin() as connection:
            await connection.execute(text(f"ALTER TABLE {name} RENAME TO {to}"))


def make_api() -> FakeSlack:
    api = FakeSlack(token=BOT_TOKEN)
    api.add_user(CAMDEN, "Jo.Bloggs@camden.gov.uk", name="Jo Bloggs")
    api.add_user(CAMDEN_2, "sam.lee@camden.gov.uk", name="Sam Lee")
    api.add_user(HULL, "pat.doe@hull.gov.uk", name="Pat Doe")
    api.add_user(NO_EMAIL, None, name="No Email")
    api.add_user(OUTSIDER, "someone@example.com", name="Some One")
    api.add_user(ADMIN, "amy.team@local.gov.uk", name="Amy Team")
    api.add_user(OTHER_BOT, None, name="Other bot", is_bot=True)
    return api


def slack_settings(base: Callable[..., Settings], api: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        slack_api_url=api.api_url,
        http_host="127.0.0.1",
        http_port=0,
        team_slack_channel=TEAM_CHANNEL,
        admin_slack_users=[ADMIN],
    )
    values.update(overrides)
    return base(**values)


@pytest.fixture
async def slack(settings_factory: Callable[..., Settings], clock: Any) -> AsyncIterator[SlackWorld]:
    api = await make_api().start()
    runtime = create_service(slack_settings(settings_factory, api), clock=clock)
    await runtime.start(smtp=False, slack=True, scheduler=False)
    assert runtime.slack is not None and runtime.slack.port
    try:
        async with SlackSender(runtime.slack.url) as send:
            yield SlackWorld(runtime, api, send)
    finally:
        await runtime.stop()
        await api.stop()
    # Whatever the test, nothing the bot sent may be Block Kit that Slack would refuse.
    assert api.refused == [], api.refused
