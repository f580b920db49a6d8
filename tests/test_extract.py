"""intake.mail.extract: raw mail -> EmailContent, alone and followed by the parser, on
hand-written council emails (tests/emails) and small inline messages."""
from __future__ import annotations

from pathlib import Path

import pytest

from intake.runtime.settings import DEFAULT_CONFIG_DIR
from intake.campaign.definition import Campaign, load_campaign
from intake.campaign.register import CouncilRegister, load_councils
from intake.mail.extract import EmailContent, read_email
from intake.mail.html_text import html_to_text
from intake.mail.quotes import strip_quoted
from intake.parsing import Parsed, parse_message

EMAILS = Path(__file__).resolve().parent / "emails"

CAMDEN, HERTS, MANCHESTER, SALFORD, TRAFFORD, STOCKPORT = (
    "E09000007", "E10000015", "E08000003", "E08000006", "E08000009", "E08000007",
)


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign(DEFAULT_CONFIG_DIR / "campaign.toml")


@pytest.fixture(scope="module")
def councils() -> CouncilRegister:
    return load_councils(DEFAULT_CONFIG_DIR / "councils.csv")


def mail(name: str) -> EmailContent:
    return read_email((EMAILS / name).read_bytes())


def parsed(name: str, campaign: Campaign, councils: CouncilRegister) -> tuple[EmailContent, Parsed]:
    content = mail(name)
    return content, parse_message(content.subject, content.new_text, campaign=campaign, councils=councils)


# --- fixtures end to end --------------------------------------------------------------------


def test_plain_outlook_pbr(campaign, councils):
    content, result = parsed("pbr_plain_outlook.eml", campaign, councils)
    assert content.subject == "EOI - Payment by Results pathfinder"
    assert content.sender == "jane.smith@camden.gov.uk"
    assert content.sender_name == "Smith, Jane"
    assert content.message_id == "<LO2P265MB2734A1B2C3D4E5F6A7B8C9D0E1F2A3B4@LO2P265MB2734.GBRP265.PROD.OUTLOOK.COM>"
    assert content.automatic is None
    assert "pathfinders." in content.text  # quoted-printable soft break joined
    assert "Tel: 020" in content.text and "Tel: 020" not in content.new_text  # signature gone
    assert result.kind == "submission"
    [draft] = result.submissions
    assert draft.offer == "pbr-pathfinder"
    assert draft.values == {
        "council": CAMDEN,
        "contact_name": "Jane Smith",
        "contact_email": "jane.smith@camden.gov.uk",
        "contact_role": "Head of Early Help",
        "centres": 12,
    }
    assert draft.errors == []


def test_values_on_the_next_line(campaign, councils):
    _, result = parsed("values_next_line.eml", campaign, councils)
    [draft] = result.submissions
    assert draft.offer == "early-adopter"
    assert draft.values["council"] == "E08000035"  # Leeds
    assert draft.values["contact_email"] == "peter.okafor@leeds.gov.uk"
    assert draft.values["contact_role"] == "Chief Officer, Children and Families"
    assert draft.values["areas"] == "Early help and the front door; quality of practice in the MASH"
    assert draft.values["cluster"] == ["E08000032", "E08000036", "E08000033"]  # Bradford, Wakefield, Calderdale


def test_bullets_dashes_mailto_and_bold(campaign, councils):
    _, result = parsed("bullets.eml", campaign, councils)
    [draft] = result.submissions
    assert draft.offer == "children-centres-support"  # "Sure Start support offer" in the subject
    assert draft.values == {
        "council": HERTS,
        "contact_name": "Priya Harris",
        "contact_role": "Service Manager, Family Centres",
        "contact_email": "priya.harris@hertfordshire.gov.uk",
        "support_needed": "independent challenge of our needs analysis before consultation",
    }


def test_outlook_html_only_with_a_form_table(campaign, councils):
    content, result = parsed("outlook_html_table.eml", campaign, councils)
    assert "Council: Manchester City Council" in content.text
    assert "Contact name: Amira Begum" in content.text  # &nbsp; became a space
    assert "font-family" not in content.text and "mso" not in content.text.lower()
    assert "Manchester’s expression of interest" in content.text
    [draft] = result.submissions
    assert draft.offer == "early-adopter"
    assert draft.values["council"] == MANCHESTER
    assert draft.values["contact_email"] == "amira.begum@manchester.gov.uk"
    assert draft.values["areas"] == "Permanence planning Care leavers’ accommodation"
    assert draft.values["cluster"] == [SALFORD, TRAFFORD, STOCKPORT]


def test_quoted_printable_windows_1252_and_utf8_encoded_subject(campaign, councils):
    content, result = parsed("qp_windows1252.eml", campaign, councils)
    assert content.subject == "Expression of interest – Children’s centres support"
    assert content.sender_name == "O’Neill, Tomás"
    assert "£1.2m" in content.text
    assert "T: 01603" not in content.new_text  # signature after "Regards,"
    [draft] = result.submissions
    assert draft.offer == "children-centres-support"
    assert draft.values["council"] == "E10000020"  # Norfolk
    assert draft.values["contact_name"] == "Tomás O’Neill"
    assert draft.values["contact_role"] == "Head of Service – Children’s Centres"
    assert draft.values["support_needed"].startswith("Help modelling a hub-and-spoke network within a £1.2m")


def test_iso_8859_1_body_and_q_encoded_subject(campaign, councils):
    content, result = parsed("iso8859_1_8bit.eml", campaign, councils)
    assert content.subject == "Expression of interest – PbR pathfinder (Suffolk)"  # =96 read as cp1252
    assert content.sender_name == "Renée Léger"
    [draft] = result.submissions
    assert draft.offer == "pbr-pathfinder"
    assert draft.values["council"] == "E10000029"
    assert draft.values["contact_name"] == "Renée Léger"
    assert draft.values["centres"] == 10  # "10 (plus 3 satellite sites)"


def test_outlook_reply_quoting_another_offer_creates_nothing(campaign, councils):
    content, result = parsed("outlook_reply_plain.eml", campaign, councils)
    assert "Chris is now our main contact" in content.new_text
    assert "Areas for peer challenge" in content.text
    assert "Areas for peer challenge" not in content.new_text
    assert "Number of children" not in content.new_text
    assert content.in_reply_to == "<CIB.ack.EA-0003@cib.example.org>"
    assert content.references[-1] == "<CIB.ack.EA-0003@cib.example.org>"
    assert result.kind == "enquiry"
    assert result.submissions == [] and result.nominations == []


def test_outlook_html_reply_drops_the_quoted_table(campaign, councils):
    content, result = parsed("outlook_reply_html.eml", campaign, councils)
    assert "Number of children's centres: 7" in content.text
    assert "Number of children" not in content.new_text
    assert "From:" not in content.new_text
    assert content.new_text.startswith("When is the deadline for the children's centres support?")
    assert result.kind == "query"
    assert result.query is not None
    assert (result.query.kind, result.query.offer) == ("deadline", "children-centres-support")


def test_gmail_reply_amends_by_reference_and_ignores_the_quote(campaign, councils):
    content, result = parsed("gmail_reply_amend.eml", campaign, councils)
    assert ">" not in content.new_text and "12" not in content.new_text
    assert "Thanks," not in content.new_text  # closing and name dropped
    assert result.kind == "amend"
    assert result.references == ["PBR-0012"]
    [draft] = result.submissions
    assert (draft.offer, draft.values) == ("pbr-pathfinder", {"centres": 9})


def test_inline_forward_keeps_the_forwarded_submission(campaign, councils):
    content, result = parsed("forward_inline.eml", campaign, councils)
    assert "Forwarding on behalf of Paul" in content.new_text
    assert "Number of children's centres: 16" in content.new_text
    assert "an older draft we never sent" not in content.new_text  # history below the forward
    [draft] = result.submissions
    assert draft.offer == "pbr-pathfinder"
    assert draft.values == {
        "council": "E08000010",
        "contact_name": "Paul Daniels",
        "contact_email": "paul.daniels@wigan.gov.uk",
        "contact_role": "Director of Children's Services",
        "centres": 16,
    }
    assert content.sender == "linda.jones@wigan.gov.uk"  # the PA sent it


def test_attached_forward_message_rfc822(campaign, councils):
    content, result = parsed("forward_attached.eml", campaign, councils)
    assert "---------- Forwarded message ---------" in content.text
    assert "From: Grant, Olivia <olivia.grant@bolton.gov.uk>" in content.new_text
    assert "Subject: Early adopter expression of interest - Bolton" in content.new_text
    [draft] = result.submissions
    assert draft.offer == "early-adopter"
    assert draft.values["council"] == "E08000001"  # Bolton
    assert draft.values["contact_email"] == "olivia.grant@bolton.gov.uk"
    assert draft.values["areas"].startswith("Our self-assessment")


def test_one_email_two_offers_in_sections(campaign, councils):
    content, result = parsed("two_offers_sections.eml", campaign, councils)
    assert "Benchmarking our reach figures against statistical neighbours" in content.text  # format=flowed
    assert [d.offer for d in result.submissions] == ["pbr-pathfinder", "children-centres-support"]
    pbr, ccs = result.submissions
    assert pbr.values["council"] == ccs.values["council"] == "E08000027"
    assert pbr.values["centres"] == 20 and "centres" not in ccs.values
    assert ccs.values["support_needed"] == "Benchmarking our reach figures against statistical neighbours"
    assert "support_needed" not in pbr.values
    assert pbr.values["contact_name"] == "Gareth Price"
    assert ccs.values["contact_name"] == "Helen Moss"  # given under its own heading
    assert ccs.values["contact_role"] == "Head of Family Hubs"  # shared


def test_nomination_compact_lines(campaign, councils):
    _, result = parsed("nomination_compact.eml", campaign, councils)
    assert result.kind == "nomination"
    [nomination] = result.nominations
    assert nomination.region == "North West"
    people = {p.role: p for p in nomination.people}
    assert (people["lead-member"].name, people["lead-member"].council_code, people["lead-member"].email) == (
        "Cllr Maria Lopez", SALFORD, "maria.lopez@salford.gov.uk")
    assert (people["lead-chief-executive"].name, people["lead-chief-executive"].council_code) == ("Tom Reid", TRAFFORD)
    assert people["lead-dcs"].council_code == STOCKPORT and people["lead-dcs"].email is None
    assert [e.field for e in nomination.errors] == ["lead-dcs.email"]


def test_nomination_separate_lines(campaign, councils):
    _, result = parsed("nomination_lines.eml", campaign, councils)
    assert result.kind == "nomination" and result.submissions == []
    [nomination] = result.nominations
    assert nomination.region == "West Midlands"
    assert {p.role for p in nomination.people} == {"lead-member", "lead-dcs"}  # chief executive not named
    dcs = next(p for p in nomination.people if p.role == "lead-dcs")
    assert (dcs.name, dcs.council_code, dcs.email) == ("Dev Patel", "E08000025", "dev.patel@birmingham.gov.uk")
    assert nomination.errors == []


def test_query_with_mobile_signature(campaign, councils):
    content, result = parsed("query_deadline.eml", campaign, councils)
    assert "Sent from Outlook" not in content.new_text
    assert result.kind == "query"
    assert result.query is not None
    assert (result.query.kind, result.query.offer) == ("deadline", "pbr-pathfinder")


def test_free_text_enquiry(campaign, councils):
    content, result = parsed("enquiry.eml", campaign, councils)
    assert result.kind == "enquiry"
    assert "rural services" in result.text
    assert content.automatic is None


def test_outlook_automatic_reply(campaign, councils):
    content = mail("outlook_auto_reply.eml")
    assert content.automatic == "auto-submitted: auto-generated"


def test_bounce(campaign, councils):
    content = mail("bounce_dsn.eml")
    assert content.automatic is not None
    assert "User unknown" in content.text


def test_crlf_and_lf_read_the_same():
    raw = (EMAILS / "pbr_plain_outlook.eml").read_bytes().replace(b"\r\n", b"\n")
    lf = read_email(raw)
    crlf = read_email(raw.replace(b"\n", b"\r\n"))
    assert lf.new_text == crlf.new_text and lf.subject == crlf.subject


# --- headers and robustness ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage \x81\x82",
        b"no headers at all, just text\n",
        b"Subject: =?NONE?B?SGVsbG8=?=\n\nbody",
        b"Subject: =?utf-8?B?not-base64!!?=\nFrom: =?x-unknown?Q?a?= <a@b.c>\n\nbody",
        b"Subject: caf\xe9 \x96 r\xc3\xa9sum\xc3\xa9\nFrom: Ren\xe9e <r@x.gov.uk>\n\nbody",
        b"From: <<<@@@>>>\nTo: ,,,\nDate: yesterday\n\nbody",
        b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain; charset=klingon\n\n\xff\xfe\n--x",
        b"Content-Type: multipart/alternative\n\nno boundary",
        b"Content-Type: text/plain\nContent-Transfer-Encoding: base9000\n\nabc",
        b"Content-Type: message/rfc822\n\n",
        b"Content-Type: text/html\n\n<table><tr><td><table><tr><td>x</td></tr></table></td></tr>",
        b"Message-ID:\n\t<a@b>\nReferences: junk <x@y>\n <z@w>\n\nhi",
    ],
)
def test_never_raises(raw):
    content = read_email(raw)
    assert isinstance(content, EmailContent)
    assert isinstance(content.text, str) and isinstance(content.new_text, str)


def test_bad_encoded_words_degrade_to_text():
    content = read_email(b"Subject: =?NONE?B?SGVsbG8=?= there\nFrom: a@b.gov.uk\n\nx")
    assert "there" in content.subject
    content = read_email(b"Subject: caf\xe9\nFrom: J <J@Camden.GOV.UK>\n\nx")
    assert content.subject == "café"
    assert content.sender == "j@camden.gov.uk"


def test_message_ids_and_reply_to():
    content = read_email(
        b"From: A <a@x.gov.uk>\nReply-To: Team <Team@X.gov.uk>\nMessage-ID:  <abc@x>\n"
        b"In-Reply-To: <p@q>\nReferences: <one@x>\n <two@y>\n\nhi"
    )
    assert content.message_id == "<abc@x>"
    assert content.in_reply_to == "<p@q>"
    assert content.references == ("<one@x>", "<two@y>")
    assert content.reply_to == "team@x.gov.uk"


def test_missing_from_gives_none():
    content = read_email(b"Subject: hi\n\nbody")
    assert content.sender is None and content.sender_name is None and content.message_id is None


# --- automatic mail ----------------------------------------------------------------------------

PERSON = b"From: Jane <jane@camden.gov.uk>\nSubject: EOI\n"


@pytest.mark.parametrize(
    ("headers", "envelope_from", "reason"),
    [
        (b"Auto-Submitted: auto-replied\n", None, "auto-submitted: auto-replied"),
        (b"Auto-Submitted: auto-generated\n", None, "auto-submitted: auto-generated"),
        (b"", "", "null return path"),
        (b"", "<>", "null return path"),
        (b"Return-Path: <>\n", None, "null return path"),
        (b"Precedence: bulk\n", None, "precedence: bulk"),
        (b"Precedence: list\n", None, "precedence: list"),
        (b"Precedence: junk\n", None, "precedence: junk"),
        (b"List-Id: <children.lists.example.org>\n", None, "mailing list"),
        (b"List-Unsubscribe: <mailto:leave@lists.example.org>\n", None, "mailing list"),
        (b"X-Autoreply: yes\n", None, "auto-reply"),
        (b"X-Autorespond: yes\n", None, "auto-reply"),
        (b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n", None,
         "delivery status notification"),
        (b"Content-Type: multipart/report; report-type=disposition-notification; boundary=b\n", None,
         "delivery status notification"),
    ],
)
def test_automatic(headers, envelope_from, reason):
    content = read_email(PERSON + headers + b"\nhello", envelope_from=envelope_from)
    assert content.automatic == reason


@pytest.mark.parametrize(
    "raw",
    [
        b"From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered Mail Returned to Sender\n\nx",
        b"From: postmaster@example.org\nSubject: hello\n\nx",
        b"From: Sam <sam@kent.gov.uk>\nSubject: Automatic reply: EOI\nX-Auto-Response-Suppress: All\n\nx",
        b"From: Sam <sam@kent.gov.uk>\nSubject: Out of Office: EOI\n\nx",
        b"From: Sam <sam@kent.gov.uk>\nSubject: Undeliverable: EOI\n\nx",
    ],
)
def test_automatic_by_sender_or_subject(raw):
    assert read_email(raw).automatic is not None


@pytest.mark.parametrize(
    ("headers", "envelope_from"),
    [
        (b"", None),
        (b"", "jane@camden.gov.uk"),
        (b"Auto-Submitted: no\n", None),
        (b"Precedence: first-class\n", None),
        (b"X-Auto-Response-Suppress: All\n", None),  # Outlook sets it on ordinary mail too
        (b"Return-Path: <jane@camden.gov.uk>\n", None),
    ],
)
def test_a_persons_mail_is_not_automatic(headers, envelope_from):
    assert read_email(PERSON + headers + b"\nhello", envelope_from=envelope_from).automatic is None


# --- HTML -------------------------------------------------------------------------------------


def test_html_table_rows_become_label_lines():
    html = (
        "<html><head><style>p {color:red}</style><script>var x</script></head><body>"
        "<p class=MsoNormal>Intro&nbsp;text<o:p></o:p></p>"
        "<table><tr><td><p><b>Council:</b></p></td><td><p>Camden<o:p></o:p></p></td></tr>"
        "<tr><td>Number of children's centres</td><td>12</td></tr>"
        "<tr><td>Notes</td><td></td></tr></table>"
        "line one<br>line two<ul><li>first</li><li>second</li></ul></body></html>"
    )
    text = html_to_text(html)
    lines = [line for line in text.split("\n") if line]
    assert lines[:4] == ["Intro text", "Council: Camden", "Number of children's centres: 12", "Notes"]
    assert "line one" in lines and "line two" in lines
    assert "• first" in lines and "• second" in lines
    assert "color" not in text and "var x" not in text


def test_html_quotes_dropped_for_new_text():
    html = (
        "<div>New words</div><div class='gmail_quote'>On Mon, X wrote:<blockquote>Council: Kent</blockquote></div>"
    )
    assert html_to_text(html, drop_quotes=True) == "New words"
    assert "Council: Kent" in html_to_text(html)


def test_outlook_desktop_border_div_and_everything_after_it_dropped():
    html = (
        "<div class=WordSection1><p>Yes please.</p>"
        "<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>"
        "<p><b>From:</b> CIB <eoi@cib.example.org><br><b>Sent:</b> 1 May<br><b>To:</b> me<br>"
        "<b>Subject:</b> x</p></div><p>Offer: PbR</p><p>Council: Kent</p></div>"
    )
    assert html_to_text(html, drop_quotes=True) == "Yes please."


# --- strip_quoted ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes\n\nOn Mon, 3 May 2027 at 10:00, CIB <eoi@cib.example.org> wrote:\n> Council: Kent", "Yes"),
        ("Yes\n\nOn Mon, 3 May 2027 at 10:00, CIB programme team\n<eoi@cib.example.org> wrote:\n\n> old", "Yes"),
        ("Yes\nOn 3 May 2027, at 10:00, Jane Smith <j@x.gov.uk> wrote:\n\nold text", "Yes"),
        ("Yes\n-----Original Message-----\nFrom: A\nSent: B\nTo: C\nSubject: D\n\nCouncil: Kent", "Yes"),
        ("Yes\n\nFrom: CIB <eoi@cib.example.org>\nSent: 3 May 2027 10:00\nTo: Jane\nSubject: x\n\nold", "Yes"),
        ("Yes\n\n*From:* CIB <eoi@cib.example.org>\n*Sent:* 3 May\n*To:* Jane\n*Subject:* x\n\nold", "Yes"),
        ("Yes\n________________________________\nFrom: CIB\nSent: 3 May\nTo: J\n\nold", "Yes"),
        ("Yes\n> quoted\nmore", "Yes\nmore"),
        ("Yes\n-- \nJane Smith\nCamden", "Yes"),
        ("Yes\n\nSent from my iPhone", "Yes"),
        ("Yes\n\nGet Outlook for iOS", "Yes"),
        ("Yes\n\nKind regards,\nJane Smith\nHead of Early Help\nTel: 020 7974 0000", "Yes"),
        ("Yes\n\nBest wishes\nJane", "Yes"),
        # A closing phrase followed by a form is not a signature.
        ("Yes\nThanks\nCouncil: Camden\nNumber of centres: 12", "Yes\nThanks\nCouncil: Camden\nNumber of centres: 12"),
        # From: without Sent/Date is a label, not a reply header.
        ("From: Camden\nCouncil: Camden", "From: Camden\nCouncil: Camden"),
        # A message that is only a closing stays as it is rather than vanishing.
        ("Thanks", "Thanks"),
    ],
)
def test_strip_quoted_replies_and_signatures(text, expected):
    assert strip_quoted(text) == expected


def test_forward_markers_keep_the_forwarded_text():
    text = "FYI\n\n---------- Forwarded message ---------\nFrom: Jane <j@x.gov.uk>\nDate: Mon\nSubject: EOI\nTo: me\n\nCouncil: Camden\n\nOn Sun, Bob wrote:\n> old"
    out = strip_quoted(text)
    assert "Council: Camden" in out and "old" not in out
    apple = "Begin forwarded message:\n\nFrom: Jane <j@x.gov.uk>\nSubject: EOI\n\nCouncil: Camden"
    assert "Council: Camden" in strip_quoted(apple)


def test_fw_subject_keeps_the_outlook_header_block():
    text = "See below\n\nFrom: Jane <j@x.gov.uk>\nSent: 3 May\nTo: PA\nSubject: EOI\n\nCouncil: Camden"
    assert "Council: Camden" in strip_quoted(text, subject="FW: EOI")
    assert "Council: Camden" not in strip_quoted(text, subject="RE: EOI")
