"""Reminder contacts (config/contacts.csv): addresses for councils and regions, and the
regions' Slack channels.

Read by the reminder job each time it runs, so an edited file takes effect without a
restart. Everyone who has already written from a council's domain is added to these by the
job itself (see intake.reports.reminders.senders_by_council).
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from intake.campaign.register import ConfigError, CouncilRegister, resolve_region

log = logging.getLogger(__name__)

COLUMNS = ("council", "region", "name", "role", "email", "slack_channel")
# Names reserved for examples and tests (RFC 2606, RFC 6761): no one receives mail there.
RESERVED_TLDS = ("example", "test", "invalid", "localhost")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


@dataclass(frozen=True)
class Contact:
    email: str
    name: str = ""
    role: str = ""


@dataclass(frozen=True)
class Contacts:
    by_council: Mapping[str, tuple[Contact, ...]] = field(default_factory=dict)  # GSS code ->
    by_region: Mapping[str, tuple[Contact, ...]] = field(default_factory=dict)
    region_channels: Mapping[str, str] = field(default_factory=dict)

    def council_emails(self, code: str) -> list[str]:
        return [contact.email for contact in self.by_council.get(code, ())]

    def region_emails(self, region: str) -> list[str]:
        return [contact.email for contact in self.by_region.get(region, ())]

    def examples(self) -> list[str]:
        """The addresses at reserved example domains: placeholders, not the CIB team's contacts."""
        listed = [c.email for group in (*self.by_council.values(), *self.by_region.values()) for c in group]
        return sorted({email for email in listed if is_example(email)})


def is_example(email: str) -> bool:
    domain = email.rpartition("@")[2].lower().rstrip(".")
    return domain.rpartition(".")[2] in RESERVED_TLDS or any(
        domain == reserved or domain.endswith(f".{reserved}") for reserved in RESERVED_DOMAINS)


def _valid_email(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and " " not in value)


def parse_contacts(text: str, councils: CouncilRegister, *, source: str = "contacts.csv") -> Contacts:
    """Contacts from the CSV text; a bad row names the file, line and problem."""
    lines = text.splitlines()
    # Comment lines are dropped but counted, so errors name the line in the file.
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        return Contacts()
    reader = csv.DictReader(io.StringIO("\n".join(line for _, line in numbered)))
    missing = [c for c in ("email",) if c not in (reader.fieldnames or [])]
    if missing or not ({"council", "region"} & set(reader.fieldnames or [])):
        raise ConfigError(f"{source}: line {numbered[0][0]}: the header must name the columns {', '.join(COLUMNS)}")
    by_council: dict[str, list[Contact]] = {}
    by_region: dict[str, list[Contact]] = {}
    channels: dict[str, str] = {}
    for (line, _), row in zip(numbered[1:], reader):
        def cell(name: str) -> str:
            return (row.get(name) or "").strip()

        email = cell("email").lower()
        if email and not _valid_email(email):
            raise ConfigError(f"{source}: line {line}: {email!r} is not an email address")
        contact = Contact(email=email, name=cell("name"), role=cell("role"))
        if cell("council"):
            resolution = councils.resolve(cell("council"))
            if resolution.council is None:
                raise ConfigError(f"{source}: line {line}: unknown council {cell('council')!r}")
            if not email:
                raise ConfigError(f"{source}: line {line}: a council row needs an email address")
            by_council.setdefault(resolution.council.code, []).append(contact)
        elif cell("region"):
            region = resolve_region(cell("region"))
            if region is None:
                raise ConfigError(f"{source}: line {line}: unknown region {cell('region')!r}")
            if email:
                by_region.setdefault(region, []).append(contact)
            if cell("slack_channel"):
                channels[region] = cell("slack_channel")
            if not email and not cell("slack_channel"):
                raise ConfigError(f"{source}: line {line}: a region row needs an email or a slack_channel")
        else:
            raise ConfigError(f"{source}: line {line}: give a council or a region")
    return Contacts(
        by_council={code: tuple(_unique(items)) for code, items in by_council.items()},
        by_region={region: tuple(_unique(items)) for region, items in by_region.items()},
        region_channels=channels,
    )


def _unique(contacts: list[Contact]) -> list[Contact]:
    seen: set[str] = set()
    out = []
    for contact in contacts:
        if contact.email not in seen:
            seen.add(contact.email)
            out.append(contact)
    return out


def load_contacts(path: Path, councils: CouncilRegister) -> Contacts:
    """config/contacts.csv; no file means no listed contacts (senders are still reminded)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        log.info("no contacts file at %s: reminders go only to those who have written", path)
        return Contacts()
    return parse_contacts(text, councils, source=str(path))
