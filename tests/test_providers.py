"""Councils whose children's services are run by a trust or company: its officers write
from its own domain (config/childrens_services_providers.csv), and that counts as the
council's. Read from the register as the parser reads it, and sent over SMTP."""
from __future__ import annotations

import csv

import pytest

from intake.campaign.register import ConfigError, load_councils, with_providers
from intake.runtime.settings import DEFAULT_CONFIG_DIR
from tests.mailer import body_text, message, send, settle, stamp

REGISTER = load_councils(DEFAULT_CONFIG_DIR / "councils.csv")
PROVIDERS = list(csv.DictReader((DEFAULT_CONFIG_DIR / "childrens_services_providers.csv").open(encoding="utf-8")))


@pytest.mark.parametrize("row", PROVIDERS, ids=[row["name"] for row in PROVIDERS])
def test_each_providers_domain_counts_as_each_of_its_councils(row):
    codes = row["gss_codes"].split("|")
    for domain in row["email_domains"].split("|"):
        address = f"officer@{domain}"
        for code in codes:
            council = REGISTER.get(code)
            assert council is not None and REGISTER.owns_address(council, address)
        # One council: the domain names it; several (Achieving for Children): it names none.
        found = REGISTER.by_email(address)
        assert (found.code if found else None) == (codes[0] if len(codes) == 1 else None)
    # Its councils keep their own domains too.
    assert all(REGISTER.get(code).email_domains[0].endswith(".gov.uk") for code in codes)


def test_a_provider_for_a_council_the_register_lacks_stops_start_up(tmp_path):
    path = tmp_path / "childrens_services_providers.csv"
    path.write_text("name,gss_codes,email_domains,source\nNowhere Trust,E99999999,nowhere.test,-\n")
    with pytest.raises(ConfigError, match="line 2: unknown council 'E99999999'"):
        with_providers(list(REGISTER), path)


EOI = """
Council: Richmond upon Thames
Contact name: Alex Dunn
Contact role: Head of Early Help, Achieving for Children
Number of children's centres: 6
"""


async def test_an_officer_of_achieving_for_children_is_verified_for_richmond(runtime, relay):
    sender = "alex.dunn@achievingforchildren.org.uk"
    await send(runtime, stamp(message(EOI, sender=sender, subject="PbR pathfinder")), mail_from=sender,
               authenticated=False)
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["council"] == "London Borough of Richmond upon Thames"
    assert submission["verified"] is True and submission["status"] == "active"
    assert "could not confirm" not in body_text(relay.to(sender)[-1])


async def test_the_same_officer_unproven_is_not(runtime, relay):
    sender = "alex.dunn@achievingforchildren.org.uk"
    await send(runtime, message(EOI, sender=sender, subject="PbR pathfinder"), mail_from=sender, authenticated=False)
    await settle(runtime)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["verified"] is False
