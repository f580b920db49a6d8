"""Finding and taking out one person's identifiers, with plain strings and messages: the
phone numbers people write, names however a template escaped them, an address only where
it is the whole address, and whole emails and Slack payloads rewritten without them."""
from __future__ import annotations

import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from intake.reports.redaction import (
    ERASED_ADDRESS,
    PLACEHOLDER,
    Identifiers,
    identifiers_from,
    message_text,
    personal_name,
    phones_in,
    scrub_raw,
)

WHO = Identifiers("ali.khan@bury.gov.uk", ("Ali Khan", "Siobhán O'Neill"), ("01614960123",), ("U0123ABCD",))


@pytest.mark.parametrize("text, found", [
    ("Tel: 0161 496 0123", {"01614960123"}),
    ("call (0161) 496-0123 today", {"01614960123"}),
    ("+44 (0)161 496 0123", {"01614960123"}),
    ("+44 161 496 0123", {"01614960123"}),
    ("mobile 07700 900123.", {"07700900123"}),
    ("Deadline 27.05.2027, ref PBR-0001, 30 places", set()),
    ("0000 000 0000", set()),
])
def test_phone_numbers_as_people_write_them(text, found):
    assert phones_in(text) == found


@pytest.mark.parametrize("text", [
    "Contact: Ali Khan", "ALI  KHAN wrote", "Siobhán O&#39;Neill", "Siobhán O&#x27;Neill", "Siobhán O’Neill",
    "<ali.khan@bury.gov.uk>", "ring 0161-496-0123", "+44 161 4960123", "dm:U0123ABCD",
])
def test_each_identifier_is_found_however_it_is_written(text):
    assert WHO.found_in(text)
    assert not WHO.found_in(WHO.replace(text))


@pytest.mark.parametrize("text", [
    "bali.khan@bury.gov.uk", "ali.khan@bury.gov.uk.example", "Alison Khan", "Ali Khanna", "01614960123456",
    "U0123ABCDE", "Khan Ali",
])
def test_what_only_looks_like_them_is_left_alone(text):
    assert not WHO.found_in(text)


def test_a_single_word_names_too_many_people_to_take_out_of_everyones_text():
    who = identifiers_from("sam@x.gov.uk", names=["Sam", "[erased]", ""], texts=[], slack_users=[])
    assert who.names == ("Sam",) and not who.found_in("Sam from Leeds rang")


@pytest.mark.parametrize("name, person", [
    ("Ali Khan", True), ("Dr Ali Khan", True), ("Bury Council", False), ("Children's Services", False),
    ("Ali", False), ("ali.khan@bury.gov.uk", False),
])
def test_a_display_name_is_a_persons_only_when_it_reads_as_one(name, person):
    assert personal_name(name) is person


def _email() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ali Khan <ali.khan@bury.gov.uk>"
    mail["To"] = "Jane Smith <jane.smith@camden.gov.uk>"
    mail["Subject"] = "Ali Khan's entry"
    mail.set_content("Ali Khan (0161 496 0123) is our contact. Jane Smith agrees.\n", cte="quoted-printable")
    mail.add_alternative("<p>Siobhán O&#39;Neill, ali.khan@bury.gov.uk</p>", subtype="html", cte="base64")
    mail.add_attachment(b"%PDF-1.4 Ali Khan", maintype="application", subtype="pdf", filename="form.pdf")
    return bytes(mail)


def test_an_email_is_rewritten_without_them_and_keeps_everyone_else():
    raw = _email()
    assert WHO.found_in(message_text(raw))
    scrubbed = scrub_raw(raw, WHO, drop_attachments=True)
    assert scrubbed != PLACEHOLDER and not WHO.found_in(message_text(scrubbed))
    mail = BytesParser(policy=policy.default).parsebytes(scrubbed)
    assert mail["From"].addresses[0].addr_spec == ERASED_ADDRESS
    assert str(mail["To"]) == "Jane Smith <jane.smith@camden.gov.uk>"
    assert "Jane Smith agrees" in mail.get_body(("plain",)).get_content()
    assert not any(part.get_filename() == "form.pdf" for part in mail.walk())


def test_a_slack_payload_is_rewritten_as_json():
    raw = json.dumps({"user": "U0123ABCD", "text": "I am Ali Khan", "team": "T1"}).encode()
    assert json.loads(scrub_raw(raw, WHO)) == {"user": "[erased]", "text": "I am [erased]", "team": "T1"}


def test_what_cannot_be_read_as_an_email_comes_out_without_them():
    for raw in (b"\xff\xfe Ali Khan \x00", b"{not json, Ali Khan", b"=?utf-8?b?QWxpIEtoYW4=?=: x\r\n\r\nbody"):
        assert not WHO.found_in(message_text(scrub_raw(raw, WHO)))


def test_a_name_escaped_in_json_is_found_and_taken_out():
    raw = json.dumps({"text": "Siobhán O'Neill asked"}).encode()  # "Siobh\u00e1n"
    assert WHO.found_in(message_text(raw))
    assert not WHO.found_in(message_text(scrub_raw(raw, WHO)))
