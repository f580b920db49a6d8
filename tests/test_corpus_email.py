"""The real-world corpus (tests/corpus/email, provenance in tests/corpus/MANIFEST.tsv and
SOURCES.md): every message is read and parsed without an exception; the bounces,
delivery reports, complaints and auto-replies in it are recognised as automatic; and
ordinary people's mail in it is not."""
from __future__ import annotations

import csv
import re
import typing
from pathlib import Path

import pytest

from intake.runtime.settings import DEFAULT_CONFIG_DIR
from intake.campaign.definition import Campaign, load_campaign
from intake.campaign.register import CouncilRegister, load_councils
from intake.mail.extract import read_email
from intake.parsing import Kind, parse_message

CORPUS = Path(__file__).resolve().parent / "corpus"


def _manifest() -> list[dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["file"].startswith("email/")]


ROWS = _manifest()
FILES = [row["file"] for row in ROWS]

# What the manifest says a machine sent: bounces and delay notices (DSNs, NDRs),
# feedback-loop complaints, read receipts and auto-replies.
_MACHINE_NOTE = re.compile(
    r"\b(dsn|bounce|delivery[- ]status|ndr|rejection|auto-reply|auto-replied|automatic reply|"
    r"auto reply|vacation|out-of-office|auto-response|feedback-loop|complaint|read receipt|mdn)\b",
    re.IGNORECASE,
)


def _machine(row: dict[str, str]) -> bool:
    if "but is not" in row["note"]:  # sisimai's "looks bounce-like but is not"
        return False
    return bool(_MACHINE_NOTE.search(row["note"])) or any(
        f"top={kind}" in row["auto_detected"] for kind in ("multipart/report", "message/delivery-status")
    )


MACHINE = [row["file"] for row in ROWS if _machine(row)]

# People writing to people: replies from many clients, plain mail, forwards.
HUMAN = [
    *(f"email/mailgun-talon/standard_replies__{client}.eml" for client in (
        "android", "aol", "apple_mail", "apple_mail_2", "comcast", "gmail", "hotmail",
        "iphone", "outlook", "sparrow", "thunderbird", "yahoo")),
    "email/mailgun-talon/reply-quotations-share-block.eml",
    "email/mikel-mail/plain_emails__basic_email.eml",
    "email/mikel-mail/plain_emails__raw_email_reply.eml",
    "email/mikel-mail/attachment_emails__attachment_message_rfc822.eml",
    "email/django-helpdesk/forwarded-message.eml",
    "email/django-helpdesk/quoted_printable.eml",
    "email/mailgun-flanker/iphone.eml",
    "email/mailgun-flanker/text-only.eml",
    "email/mailgun-flanker/enclosed.eml",
    "email/mailgun-flanker/relative.eml",
    "email/sisimai-set-of-emails/not__is-not-bounce-01.eml",
    "email/spamassassin/nice__crlf-endings.eml",
    "email/rspamd/yand_forward.eml",
    "email/zulip/1.eml",
]

# Mail that carries RFC 3834 / list headers: never to be answered, whatever else it is.
_LOOP_HEADER = re.compile(
    rb"^(auto-submitted:\s*(?!no\b)\S|precedence:\s*(bulk|list|junk)\b|list-[a-z-]+:)",
    re.IGNORECASE | re.MULTILINE,
)


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign(DEFAULT_CONFIG_DIR / "campaign.toml")


@pytest.fixture(scope="module")
def councils() -> CouncilRegister:
    return load_councils(DEFAULT_CONFIG_DIR / "councils.csv")


def test_manifest_lists_every_file():
    on_disk = {str(path.relative_to(CORPUS)) for path in (CORPUS / "email").rglob("*.eml")}
    assert on_disk == set(FILES)
    assert len(MACHINE) >= 40 and set(HUMAN) <= set(FILES) and not set(HUMAN) & set(MACHINE)


@pytest.mark.parametrize("name", FILES)
def test_read_and_parse_never_raise(name, campaign, councils):
    raw = (CORPUS / name).read_bytes()
    content = read_email(raw)
    assert isinstance(content.subject, str) and "\n" not in content.subject
    assert content.sender is None or ("@" in content.sender and content.sender == content.sender.lower())
    assert len(content.new_text) <= len(content.text) + 200  # new text comes out of the text
    parsed = parse_message(content.subject, content.new_text, campaign=campaign, councils=councils)
    assert parsed.kind in typing.get_args(Kind)
    for draft in parsed.submissions:
        assert draft.offer == "" or draft.offer in {offer.key for offer in campaign.offers}


@pytest.mark.parametrize("name", MACHINE)
def test_machine_mail_is_automatic(name):
    assert read_email((CORPUS / name).read_bytes()).automatic is not None


@pytest.mark.parametrize("name", [row["file"] for row in ROWS])
def test_loop_headers_mean_automatic(name):
    raw = (CORPUS / name).read_bytes()
    head = re.split(rb"\r?\n\r?\n|\r\r", raw, maxsplit=1)[0]
    if _LOOP_HEADER.search(head):
        assert read_email(raw).automatic is not None


def test_null_envelope_sender_is_automatic():
    raw = (CORPUS / "email/zulip/1.eml").read_bytes()
    assert read_email(raw, envelope_from="").automatic == "null return path"
    assert read_email(raw, envelope_from="hamlet@zulip.com").automatic is None


@pytest.mark.parametrize("name", HUMAN)
def test_peoples_mail_is_not_automatic(name):
    assert read_email((CORPUS / name).read_bytes()).automatic is None


@pytest.mark.parametrize(
    "name", [f"email/mailgun-talon/standard_replies__{client}.eml" for client in (
        "aol", "apple_mail", "apple_mail_2", "comcast", "gmail", "hotmail", "iphone", "outlook",
        "sparrow", "thunderbird", "yahoo")],
)
def test_replies_lose_their_quoted_history(name):
    # Each of these says "Hello" above (or, in Thunderbird, below) a quoted "Hi".
    assert read_email((CORPUS / name).read_bytes()).new_text == "Hello"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("email/sisimai-set-of-emails/bsd__rfc3834-01.eml", "auto-submitted: auto-replied"),
        ("email/sisimai-set-of-emails/bsd__rfc3834-03.eml", "auto-reply"),  # X-Apple-Action: VACATION
        ("email/cpython-test_email/msg_05.eml", "delivery status notification"),
        ("email/mailgun-flanker/disposition-notification.eml", "delivery status notification"),
    ],
)
def test_specific_reasons(name, reason):
    assert read_email((CORPUS / name).read_bytes()).automatic == reason


def test_forwarded_message_attachment_text_is_included():
    content = read_email((CORPUS / "email/mailgun-flanker/enclosed.eml").read_bytes())
    assert "---------- Forwarded message ---------" in content.new_text
    assert "you're kicking ass" in content.new_text


def test_unknown_charset_and_encoding_degrade():
    for name in ("email/enmime/low-quality__unk-charset-part.eml", "email/enmime/low-quality__unk-encoding-part.eml",
                 "email/mikel-mail/error_emails__bad_encoded_subject.eml"):
        content = read_email((CORPUS / name).read_bytes())
        assert isinstance(content.text, str)
