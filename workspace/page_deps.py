"""What the workspace's pages and actions need from the running service."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from intake.outbox.channels import Composer
from intake.render import Renderer
from intake.service import IntakeService
from intake.team import TeamDesk, Triage
from workspace.sign_in_limits import Attempts, Network


@dataclass
class Deps:
    service: IntakeService
    team: TeamDesk
    triage: Triage
    renderer: Renderer  # the emails' renderer (the sign-in link)
    mail: Composer  # the email channel's composer: the sign-in link goes by email
    team_emails: frozenset[str]
    base_url: str  # where the links in emails point, e.g. https://intake.example.org
    wake: Callable[[set[str]], None] | None = None
    session_hours: float = 12.0
    link_minutes: float = 15.0
    attempts: Attempts = field(default_factory=Attempts)
    trusted_proxies: tuple[Network, ...] = ()  # whose X-Forwarded-For names the client (CIB_TRUSTED_PROXIES)

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.service.clock

    @property
    def secure(self) -> bool:
        """Cookies are Secure when the service is reached over HTTPS."""
        return self.base_url.lower().startswith("https://")
