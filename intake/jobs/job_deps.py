"""The few named things the jobs need, built by the composition root (`intake/runtime/composition.py`)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from intake.campaign.definition import Campaign
from intake.campaign.contacts import Contacts, load_contacts
from intake.campaign.register import CouncilRegister
from intake.outbox.channels import Composer
from intake.render import Renderer
from intake.store import Store

if TYPE_CHECKING:  # the settings are handed in by the composition root, above the jobs
    from intake.runtime.settings import Settings


@dataclass(frozen=True)
class JobDeps:
    store: Store
    campaign: Campaign
    councils: CouncilRegister
    renderer: Renderer
    settings: Settings
    clock: Callable[[], datetime]
    intake_address: str
    composers: Mapping[str, Composer]  # by channel: what wraps a rendered post as a row
    wake: Callable[[], None]  # every outbox dispatcher: something was recorded

    @property
    def slack_enabled(self) -> bool:
        return "slack" in self.composers

    def contacts(self) -> Contacts:
        # Read on every run: an edited contacts.csv takes effect without a restart.
        path: Path = self.settings.contacts_file or self.settings.config_dir / "contacts.csv"
        return load_contacts(path, self.councils)

    def as_of(self, now: datetime | None) -> datetime:
        moment = now or self.clock()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.campaign.tz)
        return moment
