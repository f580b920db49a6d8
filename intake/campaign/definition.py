"""The campaign (config/campaign.toml): offers, their fields and deadlines, the regional
leads nomination, reminder offsets and digest times; and working days in England.

Nothing about the campaign is hard-coded elsewhere: parsing, replies, reminders and the
digest all read it from here.
"""
from __future__ import annotations

import tomllib
import datetime as dt
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from intake.campaign.register import ConfigError

FieldType = Literal["text", "email", "integer", "council", "councils"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Model):
    key: str
    title: str
    type: FieldType = "text"
    required: bool = False
    labels: tuple[str, ...] = ()
    minimum: int | None = None
    default_from_sender: bool = False

    @property
    def all_labels(self) -> tuple[str, ...]:
        return (self.title.lower(), self.key.replace("_", " "), *self.labels)


class Offer(_Model):
    key: str
    title: str
    short_title: str
    reference_prefix: str
    deadline: datetime
    capacity: int | None = Field(default=None, gt=0)
    responder: str = "council"
    aliases: tuple[str, ...] = ()
    description: str = ""
    fields: tuple[FieldSpec, ...] = ()
    kind: Literal["offer"] = "offer"


class Role(_Model):
    key: str
    title: str
    labels: tuple[str, ...] = ()

    @property
    def all_labels(self) -> tuple[str, ...]:
        return (self.title.lower(), self.key.replace("-", " "), *self.labels)


class NominationSpec(_Model):
    key: str
    title: str
    short_title: str
    reference_prefix: str
    deadline: datetime
    responder: str = "region"
    aliases: tuple[str, ...] = ()
    description: str = ""
    region_labels: tuple[str, ...] = ("region",)
    roles: tuple[Role, ...]
    kind: Literal["nomination"] = "nomination"

    def role(self, key: str) -> Role:
        for role in self.roles:
            if role.key == key:
                return role
        raise KeyError(key)

    def role_title(self, key: str) -> str:
        """A role's title; the key itself for one the campaign no longer has."""
        return next((role.title for role in self.roles if role.key == key), key)


class Reminders(_Model):
    offsets_working_days: tuple[int, ...] = (10, 5, 2, 0)
    time: dt.time = dt.time(9, 0)
    grace_hours: float = Field(default=12, ge=0)

    @field_validator("offsets_working_days")
    @classmethod
    def _non_negative(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(offset < 0 for offset in value):
            raise ValueError("offsets must be 0 or more working days")
        return tuple(sorted(set(value), reverse=True))


class DigestSchedule(_Model):
    time: dt.time = dt.time(8, 30)
    grace_hours: float = Field(default=12, ge=0)


class Retention(_Model):
    """How long personal data is kept after the campaign (`cib personal-data retention`,
    run daily by the scheduler): days after the campaign's last deadline, or after a
    message or entry came if that was later. Sign-in links and sessions go once spent."""

    raw_messages_days: int = Field(default=90, ge=0)  # messages as they came, attachments, what we sent
    personal_fields_days: int = Field(default=365, ge=0)  # names, addresses and free text of entries
    spent_sign_in_days: int = Field(default=0, ge=0)  # after a link is used or lapses, a session ends
    time: dt.time = dt.time(3, 30)  # the daily run, local time

    @model_validator(mode="after")
    def _raw_not_longer(self) -> Retention:
        # A raw message holds the entry's personal fields too: kept longer, it would keep them.
        if self.raw_messages_days > self.personal_fields_days:
            raise ValueError("raw_messages_days must not exceed personal_fields_days: "
                             "a raw message holds the entry's personal fields too")
        return self


class CampaignInfo(_Model):
    name: str
    timezone: str = "Europe/London"
    team_name: str = "CIB programme team"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value


class Campaign(_Model):
    campaign: CampaignInfo
    reminders: Reminders = Reminders()
    digest: DigestSchedule = DigestSchedule()
    retention: Retention = Retention()
    common_fields: tuple[FieldSpec, ...]
    offers: tuple[Offer, ...]
    nomination: NominationSpec

    @model_validator(mode="after")
    def _consistent(self) -> Campaign:
        keys = [offer.key for offer in self.offers] + [self.nomination.key]
        if len(set(keys)) != len(keys):
            raise ValueError(f"offer keys must be unique, got {keys}")
        prefixes = [o.reference_prefix for o in self.offers] + [self.nomination.reference_prefix]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f"reference prefixes must be unique, got {prefixes}")
        for offer in self.offers:
            field_keys = [f.key for f in self.fields_for(offer)]
            if len(set(field_keys)) != len(field_keys):
                raise ValueError(f"offer {offer.key!r} repeats a field key: {field_keys}")
        return self

    # --- derived views -------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.campaign.timezone)

    def fields_for(self, offer: Offer) -> tuple[FieldSpec, ...]:
        return (*self.common_fields, *offer.fields)

    def offer(self, key: str) -> Offer:
        for offer in self.offers:
            if offer.key == key:
                return offer
        raise KeyError(key)

    def title_of(self, key: str) -> str:
        """An offer's short title; the key itself for one the campaign no longer has
        (entries stored under a key since renamed still show, and nothing crashes)."""
        for offer in self.offers:
            if offer.key == key:
                return offer.short_title
        return key

    def offer_by_prefix(self, prefix: str) -> Offer | None:
        for offer in self.offers:
            if offer.reference_prefix.upper() == prefix.upper():
                return offer
        return None

    def deadline(self, key: str) -> datetime:
        """The deadline of an offer or the nomination, as an aware datetime."""
        target = self.nomination if key == self.nomination.key else self.offer(key)
        return self.localise(target.deadline)

    def localise(self, moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=self.tz)

    def warm(self) -> None:
        """Load the bank holidays of the campaign's years now (the first lookup imports
        the whole holidays package)."""
        for year in {self.localise(target.deadline).year for target in self.targets()}:
            for offset in (-1, 0, 1):
                _england_holidays(year + offset)

    def targets(self) -> list[Offer | NominationSpec]:
        """Everything with a deadline, soonest first."""
        return sorted(
            [*self.offers, self.nomination], key=lambda t: (self.localise(t.deadline), t.key)
        )

    def is_late(self, key: str, at: datetime) -> bool:
        return at > self.deadline(key)


def load_campaign(path: Path) -> Campaign:
    """Read and check config/campaign.toml; any problem names the file, key and reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: file not found") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    try:
        return Campaign.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(
                f"[{part}]" if isinstance(part, int) else str(part) for part in item["loc"]
            ).replace(".[", "[")
            problems.append(f"{path}: {where or '(top level)'}: {item['msg']}")
        raise ConfigError("\n".join(problems)) from error


# --- working days -------------------------------------------------------------------


@lru_cache(maxsize=64)
def _england_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _england_holidays(day.year)


def working_days_before(day: date, count: int) -> date:
    """The working day `count` working days before `day` (0: `day`, or the working day
    before it when `day` itself is a weekend or bank holiday)."""
    current = day
    while not is_working_day(current):
        current -= timedelta(days=1)
    remaining = count
    while remaining > 0:
        current -= timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def at_local(day: date, clock: dt.time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz)
