"""Who is trusted with what, over real SMTP: a forged From changes nothing; a change from
anyone but the council's proven address (or the entry's own sender) waits for the contact
on record, who confirms it by replying to a one-time token."""
from __future__ import annotations

import base64
import functools
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr

import dkim
import dns.resolver
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from intake.runtime.composition import create_service
from intake.reports.appendix_a import appendix_a
from tests import dns_stub as stub_module
from tests.dns_stub import silent_port
from tests.mailer import body_text, message, send, settle, stamp

dns_stub = stub_module.dns_stub  # the fixture

WIGAN = """
    Council: Wigan Council
    Contact name: Priya Shah
    Contact role: Head of Early Help
    Contact email: priya.shah@wigan.gov.uk
    Number of children's centres: 9
"""


async def _send(runtime, raw: bytes, sender: str, *, result: str | None = "pass", by: str = "mx.cib.test") -> None:
    """Mail from `sender`, as the border server passes it on with its DMARC `result`
    (None: with no Authentication-Results at all)."""
    if result is not None:
        raw = stamp(raw, result, by=by)
    await send(runtime, raw, mail_from=sender, authenticated=False)
    await settle(runtime)


async def _wigan(runtime) -> dict:
    await _send(runtime, message(WIGAN, sender="priya.shah@wigan.gov.uk", subject="PbR pathfinder EOI"), "priya.shah@wigan.gov.uk")
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["verified"] is True
    return submission


async def _inbound(runtime, sender: str):
    async with runtime.store.reader() as unit:
        rows = [await unit.inbound.get(i) for i in await unit.inbound.ids()]
    return [row for row in rows if row.sender == sender]


def _confirm_request(relay, to: str) -> EmailMessage:
    [request] = [m for m in relay.to(to) if m["Subject"].startswith("Please confirm")]
    return request


async def test_forged_from_with_a_failing_result_changes_nothing(runtime, relay):
    await _wigan(runtime)
    forged = message(WIGAN.replace("9", "1"), sender="eve@wigan.gov.uk", subject="PbR pathfinder EOI")
    await _send(runtime, forged, "eve@wigan.gov.uk", result="fail")

    [submission] = (await runtime.service.export())["submissions"]
    assert submission["fields"]["centres"] == 9  # not overwritten
    [row] = await _inbound(runtime, "eve@wigan.gov.uk")
    assert row.status == "held"
    assert row.authentication["proven"] is False and "dmarc=fail" in row.authentication["results"]
    # The contact on record is asked; the forger's address only hears that it waits.
    request = _confirm_request(relay, "priya.shah@wigan.gov.uk")
    assert "replace it with a new expression of interest" in body_text(request)
    assert "could not prove" in body_text(request)
    reply = relay.to("eve@wigan.gov.uk")[-1]
    assert "needs confirming" in body_text(reply)
    assert "Priya" not in body_text(reply) and "priya.shah" not in body_text(reply)


async def test_a_pass_stamped_by_another_server_proves_nothing(runtime, relay):
    raw = message(WIGAN, sender="priya.shah@wigan.gov.uk", subject="PbR pathfinder EOI")
    await _send(runtime, raw, "priya.shah@wigan.gov.uk", by="mx.evil.test")
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["verified"] is False
    assert submission["sender_authentication"] == "not proven"
    assert "could not confirm it came from Wigan" in body_text(relay.messages[0])


async def test_no_authentication_results_is_not_proven(runtime):
    await _send(runtime, message(WIGAN, sender="priya.shah@wigan.gov.uk", subject="PbR"), "priya.shah@wigan.gov.uk", result=None)
    [submission] = (await runtime.service.export())["submissions"]
    assert submission["verified"] is False


async def test_proven_sender_is_shown_in_the_export(runtime):
    submission = await _wigan(runtime)
    assert submission["sender"] == "priya.shah@wigan.gov.uk"
    assert submission["sender_authentication"] == "proven: dmarc=pass (by mx.cib.test)"


async def test_unsigned_withdraw_is_applied_through_the_contacts_token(runtime, relay):
    await _wigan(runtime)
    withdraw = message("Please withdraw PBR-0001", sender="priya.shah@wigan.gov.uk", subject="Withdraw PBR-0001")
    await _send(runtime, withdraw, "priya.shah@wigan.gov.uk", result="none")
    assert (await runtime.service.export())["submissions"][0]["status"] == "active"

    request = _confirm_request(relay, "priya.shah@wigan.gov.uk")
    reply_to = parseaddr(request["Reply-To"])[1]
    assert reply_to.startswith("eoi+confirm-") and reply_to.endswith("@cib.test")
    token = reply_to.split("confirm-")[1].split("@")[0]
    assert f"confirm {token}" in request["Subject"]

    # The contact replies from their mail client (not proven either: the token is the proof).
    answer = message("Yes, that was me.", sender="priya.shah@wigan.gov.uk", subject=f"RE: {request['Subject']}", to=reply_to)
    await send(runtime, answer, mail_from="priya.shah@wigan.gov.uk", to=reply_to, authenticated=False)
    await settle(runtime)

    assert (await runtime.service.export())["submissions"][0]["status"] == "withdrawn"
    assert any("you have confirmed the request to withdraw it (PBR-0001)" in body_text(m) for m in relay.to("priya.shah@wigan.gov.uk"))
    assert any("withdrawn" in body_text(m) for m in relay.to("priya.shah@wigan.gov.uk") if m["Subject"].startswith("Re: Withdraw"))
    async with runtime.store.reader() as unit:
        actions = [entry.action for entry in await unit.audit.trail("PBR-0001")]
    assert actions == ["created", "held", "confirmed", "withdrawn"]

    # The token works once.
    again = message("Yes", sender="priya.shah@wigan.gov.uk", subject=f"RE: {request['Subject']}", to=reply_to)
    await send(runtime, again, mail_from="priya.shah@wigan.gov.uk", to=reply_to, authenticated=False)
    await settle(runtime)
    assert "works only once" in body_text(relay.to("priya.shah@wigan.gov.uk")[-1])


async def test_an_expired_token_changes_nothing(runtime, relay, clock):
    await _wigan(runtime)
    outsider = message("Withdraw PBR-0001", sender="someone@gmail.com", subject="Withdraw PBR-0001")
    await _send(runtime, outsider, "someone@gmail.com")
    request = _confirm_request(relay, "priya.shah@wigan.gov.uk")
    clock.set(clock() + timedelta(days=7, minutes=1))
    answer = message("", sender="priya.shah@wigan.gov.uk", subject=f"Re: {request['Subject']}")
    await _send(runtime, answer, "priya.shah@wigan.gov.uk")
    assert (await runtime.service.export())["submissions"][0]["status"] == "active"
    assert "lapsed" in body_text(relay.to("priya.shah@wigan.gov.uk")[-1])


async def test_the_contact_can_refuse(runtime, relay):
    await _wigan(runtime)
    outsider = message("PBR-0001\nNumber of children's centres: 1", sender="someone@gmail.com", subject="Change to PBR-0001")
    await _send(runtime, outsider, "someone@gmail.com")
    request = _confirm_request(relay, "priya.shah@wigan.gov.uk")
    assert "change Number of children's centres" in body_text(request)
    answer = message("No, this was not us.\n\nPriya", sender="priya.shah@wigan.gov.uk", subject=f"Re: {request['Subject']}")
    await _send(runtime, answer, "priya.shah@wigan.gov.uk")
    assert (await runtime.service.export())["submissions"][0]["fields"]["centres"] == 9
    [held] = await _inbound(runtime, "someone@gmail.com")
    assert held.status == "refused"
    assert "is refused, and nothing has changed" in body_text(relay.to("priya.shah@wigan.gov.uk")[-1])


async def test_a_made_up_token_is_answered_and_changes_nothing(runtime, relay):
    await _wigan(runtime)
    answer = message("yes", sender="eve@evil.test", subject="confirm 0123456789abcdef01234567")
    await _send(runtime, answer, "eve@evil.test")
    assert "not one we sent" in body_text(relay.to("eve@evil.test")[-1])
    assert (await runtime.service.export())["submissions"][0]["status"] == "active"


async def test_an_imposter_first_never_absorbs_the_councils_own_entry(runtime, relay):
    slough = WIGAN.replace("Wigan Council", "Slough Borough Council")
    imposter = slough.replace("Priya Shah", "Ian Poster").replace("priya.shah@wigan.gov.uk", "ian.poster@gmail.com")
    await _send(runtime, message(imposter, sender="ian.poster@gmail.com", subject="PbR EOI"), "ian.poster@gmail.com")
    officer = slough.replace("priya.shah@wigan.gov.uk", "sam.k@slough.gov.uk").replace("Priya Shah", "Sam Khan")
    await _send(runtime, message(officer, sender="sam.k@slough.gov.uk", subject="PbR EOI"), "sam.k@slough.gov.uk")

    first, second = (await runtime.service.export())["submissions"]
    assert (first["verified"], first["status"]) == (False, "superseded")
    assert (second["verified"], second["status"], second["contact_name"]) == (True, "active", "Sam Khan")

    # The imposter's change to the council's entry waits for the council's contact.
    change = message(f"{second['reference']}\nNumber of children's centres: 2", sender="ian.poster@gmail.com",
                     subject=f"Change to {second['reference']}")
    await _send(runtime, change, "ian.poster@gmail.com")
    assert (await runtime.service.export())["submissions"][1]["fields"]["centres"] == 9
    reply = body_text(relay.to("ian.poster@gmail.com")[-1])
    assert "needs confirming" in reply and "Sam" not in reply and "slough.gov.uk" not in reply
    _confirm_request(relay, "sam.k@slough.gov.uk")


async def test_an_unverified_nomination_never_replaces_a_verified_lead(runtime, relay):
    lead = "Region: North West\nLead DCS: Dana Smith, Wigan Council, dana.smith@wigan.gov.uk"
    await _send(runtime, message(lead, sender="dana.smith@wigan.gov.uk", subject="Regional leads"), "dana.smith@wigan.gov.uk")
    other = "Region: North West\nLead DCS: Eve Jones, Wigan Council, eve@gmail.com"
    await _send(runtime, message(other, sender="eve@gmail.com", subject="Regional leads"), "eve@gmail.com")

    rows = {row["role"]: row for row in await appendix_a(runtime.service) if row["region"] == "North West"}
    assert rows["Lead director of children's services"]["name"] == "Dana Smith" and rows["Lead director of children's services"]["note"] == ""
    assert "needs confirming" not in body_text(relay.to("eve@gmail.com")[-1])
    assert "would replace a verified lead" in body_text(relay.to("eve@gmail.com")[-1])
    _confirm_request(relay, "dana.smith@wigan.gov.uk")

    # Where no verified lead stands, an unverified nomination is recorded, marked.
    member = "Region: North West\nLead member: Cllr Eve Jones, Wigan Council, eve@gmail.com"
    await _send(runtime, message(member, sender="eve@gmail.com", subject="Regional leads"), "eve@gmail.com")
    rows = {row["role"]: row for row in await appendix_a(runtime.service) if row["region"] == "North West"}
    assert rows["Lead member"]["name"] == "Cllr Eve Jones" and rows["Lead member"]["note"].startswith("unverified")


async def test_completing_someone_elses_draft_waits_for_them(runtime, relay):
    partial = "Council: Wigan Council\nContact name: Priya Shah\nContact role: Head of Early Help"
    await _send(runtime, message(partial, sender="priya.shah@wigan.gov.uk", subject="PbR pathfinder"), "priya.shah@wigan.gov.uk")
    [missing] = relay.to("priya.shah@wigan.gov.uk")
    assert "Number of children's centres" in body_text(missing)

    # Someone outside the council answers that thread with the missing line.
    answer = message("Number of children's centres: 4", sender="helper@gmail.com", subject=f"Re: {missing['Subject']}",
                     headers={"In-Reply-To": missing["Message-ID"]})
    await _send(runtime, answer, "helper@gmail.com")
    assert (await runtime.service.export())["submissions"] == []
    assert "someone else started" in body_text(relay.to("helper@gmail.com")[-1])

    request = _confirm_request(relay, "priya.shah@wigan.gov.uk")
    assert "complete the PbR pathfinder expression of interest you started" in body_text(request)
    await _send(runtime, message("Yes", sender="priya.shah@wigan.gov.uk", subject=f"Re: {request['Subject']}"), "priya.shah@wigan.gov.uk")

    [submission] = (await runtime.service.export())["submissions"]
    assert submission["fields"]["centres"] == 4 and submission["contact_name"] == "Priya Shah"
    assert submission["verified"] is False  # sent in the end by an address outside the council


async def test_the_digest_lists_changes_held_for_confirmation(runtime, clock):
    from intake.jobs.digest_job import send_digest

    await _wigan(runtime)
    await _send(runtime, message("Withdraw PBR-0001", sender="someone@gmail.com", subject="Withdraw PBR-0001"), "someone@gmail.com")
    report = await send_digest(runtime.jobs, now=clock(), dry_run=True, on_demand=True)
    assert "Changes held until their contact on record confirms (1)" in report.text
    assert "PBR-0001: someone@gmail.com asks to withdraw it" in report.text


# --- The intake as the receiving server: its own DKIM, SPF and DMARC checks, over SMTP ---


@pytest.fixture
async def receiving(settings_factory, clock, dns_stub):
    """The intake with no border server: it checks senders itself, asking the DNS stub."""
    runtime = create_service(settings_factory(authserv_id=[], dns_servers=[dns_stub.address], dns_timeout=1), clock=clock)
    await runtime.start(slack=False, scheduler=False)
    try:
        yield runtime
    finally:
        await runtime.stop()


def _wigan_domain(stub) -> bytes:
    """wigan.gov.uk as it publishes itself: a DKIM key, DMARC p=reject, SPF for nobody here."""
    private, public = _keypair()
    stub.add("sel._domainkey.wigan.gov.uk", "TXT", f"v=DKIM1; k=rsa; p={public}")
    stub.add("_dmarc.wigan.gov.uk", "TXT", "v=DMARC1; p=reject")
    stub.add("wigan.gov.uk", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    return private


@functools.lru_cache(maxsize=1)
def _keypair() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(public).decode()


async def test_a_dkim_signed_message_is_verified_by_the_intakes_own_check(receiving, dns_stub, relay):
    private = _wigan_domain(dns_stub)
    raw = message(WIGAN, sender="priya.shah@wigan.gov.uk", subject="PbR pathfinder EOI")
    signed = dkim.sign(raw, b"sel", b"wigan.gov.uk", private, include_headers=[b"from", b"to", b"subject", b"message-id"])
    await send(receiving, signed + raw, mail_from="priya.shah@wigan.gov.uk", authenticated=False)
    await settle(receiving)
    [submission] = (await receiving.service.export())["submissions"]
    assert submission["verified"] is True
    assert submission["sender_authentication"].startswith("proven: dkim=pass, spf=fail, dmarc=pass")


async def test_a_forged_from_fails_the_intakes_own_check(receiving, dns_stub, relay):
    _wigan_domain(dns_stub)
    forged = message(WIGAN, sender="priya.shah@wigan.gov.uk", subject="PbR pathfinder EOI")
    await send(receiving, forged, mail_from="priya.shah@wigan.gov.uk", authenticated=False)
    await settle(receiving)
    [submission] = (await receiving.service.export())["submissions"]
    assert submission["verified"] is False
    assert "dmarc=fail" in submission["sender_authentication"]


async def test_dns_that_does_not_answer_means_not_proven_never_a_refusal(settings_factory, clock, relay):
    sock, port = silent_port()
    saved = dns.resolver.default_resolver
    runtime = create_service(settings_factory(authserv_id=[], dns_servers=[f"127.0.0.1:{port}"], dns_timeout=0.2), clock=clock)
    await runtime.start(slack=False, scheduler=False)
    try:
        code, _ = await send(runtime, message(WIGAN, sender="priya.shah@wigan.gov.uk", subject="PbR"),
                             mail_from="priya.shah@wigan.gov.uk", authenticated=False)
        assert code == 250
        await settle(runtime)
        [submission] = (await runtime.service.export())["submissions"]
        assert submission["verified"] is False and "temperror" in submission["sender_authentication"]
        assert "PBR-0001" in body_text(relay.to("priya.shah@wigan.gov.uk")[0])  # answered all the same
    finally:
        await runtime.stop()
        dns.resolver.default_resolver = saved
        sock.close()


@pytest.mark.parametrize("prefix", ["Automatic reply: ", "Auto: ", "[Auto-Reply] ", "Abwesenheitsnotiz: ", "Réponse automatique : "])
async def test_an_out_of_office_reply_to_the_request_confirms_nothing(runtime, relay, prefix):
    await _wigan(runtime)
    await _send(runtime, message("Withdraw PBR-0001", sender="someone@gmail.com", subject="Withdraw PBR-0001"), "someone@gmail.com")
    request = _confirm_request(relay, "priya.shah@wigan.gov.uk")
    before = len(relay.messages)
    ooo = message("I am away until Monday.", sender="priya.shah@wigan.gov.uk", subject=prefix + request["Subject"])
    await _send(runtime, ooo, "priya.shah@wigan.gov.uk")
    assert (await runtime.service.export())["submissions"][0]["status"] == "active"
    assert len(relay.messages) == before  # and it is not answered
