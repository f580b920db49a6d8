"""What the parts of the Slack channel share: the core they hand requests to (`Service`),
the outbox's Slack dispatcher that posts what the core recorded (`Poster`), where a note
of the bot's own goes (`Target`), and `SlackContext`, built once by bot.bolt_app and handed to
each listener module (events, slash, modals) and to keeping and answers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.auth import BotIdentity
from bot.identity import Directory, Person
from bot.tasks import Background
from bot.slack_views import SlackViews
from intake.campaign.definition import Campaign
from intake.campaign.register import CouncilRegister
from intake.messages import FormInput, Identified, Inbound, Kept, Outcome
from intake.runtime.settings import Settings


class Service(Protocol):
    """What the bot needs from intake.service.IntakeService."""

    campaign: Campaign
    councils: CouncilRegister

    async def keep(self, inbound: Inbound) -> Kept: ...

    @property
    def arriving(self) -> bool: ...

    async def process(
        self, inbound_id: int, *, identified: Identified | None = None, answering: bool = False
    ) -> Outcome: ...

    def check_form(self, form: FormInput) -> dict[str, str]: ...

    async def export(self) -> dict[str, list[dict[str, Any]]]: ...


class Sent(Protocol):
    failed: int


class Poster(Protocol):
    """The outbox's Slack dispatcher (intake.outbox.dispatch.Dispatcher): posts what the
    core recorded and held for the bot, with the carrier in bot.posting."""

    async def send_held(self, outbound_ids: list[int]) -> Sent: ...


@dataclass(frozen=True)
class Target:
    """Where an answer goes: a channel (and thread), or the user's DM with the bot."""

    channel: str | None = None
    thread_ts: str | None = None
    dm_user: str | None = None


@dataclass
class SlackContext:
    """One per bot. `service` is looked up here at each use, never held elsewhere, so
    replacing it (as a test does) takes effect everywhere; `campaign` and `councils` are
    the service's, taken once."""

    service: Service
    settings: Settings
    views: SlackViews
    client: AsyncWebClient
    identity: BotIdentity
    directory: Directory
    background: Background
    campaign: Campaign
    councils: CouncilRegister
    # The core's clock, so deadlines shown in Slack agree with the core's answers.
    now: Callable[[], datetime]
    # CIB team members: Slack user ids and/or emails, lower-cased.
    admins: set[str] = field(default_factory=set)
    undelivered: int = 0  # messages Slack refused (logged)
    poster: Poster | None = None

    def is_admin(self, user_id: str, person: Person | None = None) -> bool:
        if user_id and user_id.lower() in self.admins:
            return True
        return bool(person and person.email and person.email.lower() in self.admins)

    def team(self) -> dict[str, Any]:
        return {"team_name": self.campaign.campaign.team_name}
