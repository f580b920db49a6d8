"""The Slack channel: a Bolt AsyncApp whose listeners translate Slack into the core's
`Inbound` and the core's `Reply`s into messages, and decide nothing else.

    Slack --signed HTTP or Socket Mode--> listener: IntakeService.keep(payload), then ack
                                           └─ background: users.info (who sent it)
                                              -> IntakeService.process (replies and
                                                 notices recorded in the outbox)
                                              -> posted: same thread / DM, team channel

This module builds the app and the `SlackContext` the parts share, and registers each
part's listeners:
  - bot.events: DMs and @mentions (and edits);
  - bot.slash: `/cib`;
  - bot.modals: the forms, their type-ahead and their submission;
  - bot.team_actions: the CIB team's Verify and Reject buttons (and their modal), and the
    team's `/cib verify|reject|decide|audit`, through the desk (intake.team.TeamDesk);
  - bot.ignored: everything else, acknowledged and left alone.
A message, question or form for the core is kept before the ack (bot.keep_then_ack) and answered
after it (bot.answers). `SlackBot` is what bot.runner starts and stops.
"""
from __future__ import annotations

from datetime import datetime, timezone

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import ignored
from bot.auth import BotIdentity
from bot.context import Poster, Service, SlackContext
from bot.events import Events
from bot.identity import Directory
from bot.keep_then_ack import NOT_STORED
from bot.modals import Modals
from bot.slash import SlashCommands
from bot.team_actions import Desk, TeamActions
from bot.tasks import Background
from bot.slack_views import SlackViews
from intake.runtime.settings import Settings, secret

__all__ = ["NOT_STORED", "SlackBot"]


class SlackBot:
    def __init__(
        self,
        *,
        service: Service,
        settings: Settings,
        views: SlackViews,
        client: AsyncWebClient,
        background: Background | None = None,
        poster: Poster | None = None,
        team: Desk | None = None,
    ) -> None:
        self.ctx = SlackContext(
            service=service,
            settings=settings,
            views=views,
            client=client,
            identity=BotIdentity(client),
            directory=Directory(client),
            background=background or Background(busy=lambda: service.arriving),
            campaign=service.campaign,
            councils=service.councils,
            # The core's clock, so deadlines shown in Slack agree with the core's answers.
            now=getattr(service, "clock", None) or (lambda: datetime.now(timezone.utc)),
            admins={entry.strip().lower() for entry in settings.admin_slack_users if entry.strip()},
            poster=poster,
        )
        self.app = AsyncApp(
            client=client,
            authorize=self.ctx.identity,
            signing_secret=secret(settings.slack_signing_secret) or "",
            # Listeners run before the response, so an ack is sent the moment it is called
            # and the slow part is in `self.background`, which stop() can drain.
            process_before_response=True,
            name="cib-intake",
        )
        Events(self.ctx).register(self.app)
        team_actions = TeamActions(self.ctx, team)
        SlashCommands(self.ctx, team_actions).register(self.app)
        Modals(self.ctx).register(self.app)
        team_actions.register(self.app)
        # Last: its listeners match anything of their kind (Bolt runs the first that matches).
        ignored.register(self.app)

    @property
    def service(self) -> Service:
        return self.ctx.service

    @service.setter
    def service(self, service: Service) -> None:
        self.ctx.service = service

    @property
    def background(self) -> Background:
        return self.ctx.background

    @property
    def directory(self) -> Directory:
        return self.ctx.directory

    @property
    def identity(self) -> BotIdentity:
        return self.ctx.identity

    @property
    def undelivered(self) -> int:
        """Messages Slack refused (logged)."""
        return self.ctx.undelivered
