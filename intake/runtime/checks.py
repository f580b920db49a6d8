"""`cib check`, and the same checks at the start of `cib serve`: the campaign, the council
register, the contacts and the templates read and make sense, and the offer keys stored
in the database still exist in the campaign (a renamed key would strand its entries).
A warning is a finding that passes but needs a look (the shipped example contacts with a
relay that would really send to them)."""
from __future__ import annotations

import errno
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import TemplateError, meta

from intake.campaign.definition import Campaign, load_campaign
from intake.campaign.contacts import load_contacts
from intake.campaign.register import ConfigError, CouncilRegister, load_councils
from intake.render import Filter, Renderer
from intake.runtime.listeners import bind_problem, listeners, probe
from intake.runtime.privacy_notice import privacy_notice
from intake.runtime.settings import Settings
from intake.store import Store


@dataclass(frozen=True)
class Finding:
    what: str
    ok: bool
    detail: str
    warning: bool = False


@dataclass
class Loaded:
    campaign: Campaign | None = None
    councils: CouncilRegister | None = None


def check_files(
    settings: Settings, *, filters: Mapping[str, Filter], loaded: Loaded | None = None
) -> list[Finding]:
    """Everything read from the configuration and templates folders; `filters` are the
    channels' own template filters (the Slack channel's mrkdwn)."""
    loaded = loaded if loaded is not None else Loaded()
    findings: list[Finding] = []
    path = settings.config_dir / "campaign.toml"
    try:
        loaded.campaign = load_campaign(path)
        offers = ", ".join(o.key for o in loaded.campaign.offers)
        findings.append(Finding("campaign", True, f"{path}: offers {offers}"))
    except (ConfigError, OSError) as error:
        findings.append(Finding("campaign", False, str(error)))
    path = settings.config_dir / "councils.csv"
    try:
        loaded.councils = load_councils(path)
        findings.append(Finding("councils", True, f"{path}: {len(loaded.councils)} councils"))
    except (ConfigError, OSError) as error:
        findings.append(Finding("councils", False, str(error)))
    if loaded.councils is not None:
        findings.extend(check_contacts(settings, loaded.councils))
    findings.append(check_templates(settings.templates_dir, filters))
    findings.append(Finding("privacy notice", *privacy_notice(settings)))
    from intake.runtime.composition import mailbox_check  # the channel is built there

    if (mailbox := mailbox_check(settings)) is not None:
        findings.append(Finding("mailbox", mailbox[0], mailbox[1], warning=mailbox[2]))
    return findings


def check_contacts(settings: Settings, councils: CouncilRegister) -> list[Finding]:
    path = settings.contacts_file or settings.config_dir / "contacts.csv"
    try:
        contacts = load_contacts(path, councils)
    except (ConfigError, OSError) as error:
        return [Finding("contacts", False, str(error))]
    listed = f"{len(contacts.by_council)} councils, {len(contacts.by_region)} regions"
    findings = [Finding("contacts", True, f"{path}: {listed}" if path.exists()
                        else f"{path}: none (reminders go to those who have written)")]
    examples = contacts.examples()
    if examples and settings.relay_host:
        findings.append(Finding(
            "contacts", True, warning=True,
            detail=f"{path} lists {len(examples)} example address(es) ({', '.join(examples[:3])}"
                   f"{', ...' if len(examples) > 3 else ''}) and CIB_RELAY_HOST is set, so reminders would be sent "
                   "to them: put the CIB team's contacts there, or point CIB_CONTACTS_FILE at them"))
    return findings


def check_ports(settings: Settings) -> Finding:
    """The service could listen where the settings say: the hosts are this machine's, the
    ports allowed. A port in use passes with a warning: it may be this service, running."""
    problems, busy = [], []
    for prefix, host, port in listeners(settings):
        try:
            probe(host, port)
        except OSError as error:
            in_use = getattr(error, "errno", None) == errno.EADDRINUSE
            (busy if in_use else problems).append(bind_problem(prefix, host, port, error))
    if problems:
        return Finding("ports", False, "; ".join(problems))
    if busy:
        return Finding("ports", True, "; ".join(busy) + " (fine if it is this service, running)", warning=True)
    return Finding("ports", True, ", ".join(f"{host}:{port or 'any'}" for _, host, port in listeners(settings)))


def check_templates(templates_dir: Path, filters: Mapping[str, Filter]) -> Finding:
    """Every template compiles (syntax, filters) and every template it extends, includes or
    imports exists."""
    if not templates_dir.is_dir():
        return Finding("templates", False, f"{templates_dir}: no such folder")
    renderer = Renderer(templates_dir, filters=filters)
    env = renderer.env
    names = set(renderer.names())
    problems: list[str] = []
    for name in sorted(names):
        try:
            source = env.loader.get_source(env, name)[0] if env.loader else ""
            env.get_template(name)
            folder = name.rpartition("/")[0]
            for used in meta.find_referenced_templates(env.parse(source)):
                # The workspace's pages are looked up in their own folder.
                if used is not None and used not in names and f"{folder}/{used}" not in names:
                    problems.append(f"{name}: uses {used}, which does not exist")
        except TemplateError as error:
            problems.append(f"{name}: {error}")
    if problems:
        return Finding("templates", False, "; ".join(problems))
    return Finding("templates", True, f"{templates_dir}: {len(names)} templates")


async def check_database(store: Store, campaign: Campaign) -> list[Finding]:
    """The offer keys entries refer to are all in the campaign."""
    async with store.reader() as unit:
        stored = await unit.operations.offer_keys()
    known = {offer.key for offer in campaign.offers}
    missing = {key: count for key, count in stored.items() if key not in known}
    if missing:
        listed = ", ".join(f"{key!r} ({count} entries)" for key, count in sorted(missing.items()))
        return [Finding("database", False, f"entries refer to offers campaign.toml no longer has: {listed}; "
                                           "put the old key back (a new title is fine)")]
    total = sum(stored.values())
    return [Finding("database", True, f"{total} entries, all for offers in the campaign")]
