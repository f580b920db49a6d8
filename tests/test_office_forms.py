"""Forms as office software writes them, sent over SMTP to the running service: Word's
content controls and legacy form fields, PDF form fields, OpenDocument files, and the
documents LibreOffice itself makes (tests/office_documents.py). A ticked box chooses, an
unticked one creates nothing, a value typed in a field wins over the page around it."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from intake.mail.attachments import ODS, ODT, WORD, read_attachment
from intake.mail.extract import read_email
from tests import office_documents as documents
from tests.mailer import body_text, send, settle

SENDER = "jane.smith@camden.gov.uk"
PDF = "application/pdf"
PBR, CCS = "PbR pathfinder", "Children's centres support"
COVERING = "Hello,\n\nPlease find attached our completed expression of interest.\n\nKind regards\nJane"
ASKED = "Which offer is this expression of interest for"
MORE = "we need a little more"


def mail(name: str, content_type: str, data: bytes, *, subject: str = "Expression of interest") -> bytes:
    message = EmailMessage()
    message["From"] = f"Jane Smith <{SENDER}>"
    message["To"] = "eoi@cib.test"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="camden.gov.uk")
    message.set_content(COVERING + "\n")
    maintype, _, subtype = content_type.partition("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(message)


async def sent(runtime, relay, raw: bytes) -> tuple[list[dict], str]:
    assert (await send(runtime, raw, mail_from=SENDER))[0] == 250
    await settle(runtime)
    return (await runtime.service.export())["submissions"], body_text(relay.to(SENDER)[-1])


def only_pbr(submissions: list[dict], reply: str) -> None:
    [entry] = submissions
    assert entry["offer"] == "pbr-pathfinder" and entry["council"] == "London Borough of Camden"
    assert entry["contact_name"] == "Jane Smith" and entry["fields"]["contact_role"] == "Head of Early Help"
    assert entry["fields"]["centres"] == 12
    assert "PBR-0001" in reply and MORE not in reply.lower() and ASKED not in reply


# --- Word: content controls as Word writes them -------------------------------------------


async def test_a_ticked_content_control_chooses_its_offer_and_the_others_are_left_out(runtime, relay):
    raw = mail("EOI Camden.docx", WORD, documents.word_controls_form({PBR}))
    submissions, reply = await sent(runtime, relay, raw)
    only_pbr(submissions, reply)
    assert "We read your attachment EOI Camden.docx." in reply


async def test_two_ticked_boxes_make_two_entries_each_with_its_own_fields(runtime, relay):
    form = documents.word_controls_form({PBR, CCS}, support="Help to consult parents on the centres we keep")
    submissions, reply = await sent(runtime, relay, mail("EOI.docx", WORD, form))
    by_offer = {s["offer"]: s for s in submissions}
    assert sorted(by_offer) == ["children-centres-support", "pbr-pathfinder"]
    assert by_offer["pbr-pathfinder"]["fields"]["centres"] == 12
    assert by_offer["children-centres-support"]["fields"]["support_needed"] == \
        "Help to consult parents on the centres we keep"
    for entry in submissions:
        assert entry["council"] == "London Borough of Camden" and entry["fields"]["contact_role"] == "Head of Early Help"
    assert "PBR-0001" in reply and "CCS-0001" in reply


async def test_no_box_ticked_chooses_nothing_and_the_sender_is_asked_which_offer(runtime, relay):
    form = documents.word_controls_form(set(), centres=None)
    submissions, reply = await sent(runtime, relay, mail("EOI.docx", WORD, form))
    assert all(s["offer"] == "" for s in submissions)
    assert ASKED in reply
    for offer in ("PBR-0001", "EA-0001", "CCS-0001"):
        assert offer not in reply


NAMING_EVERY_OFFER = ("This form is for the PbR pathfinder, the Early adopter programme and Children's centres "
                      "support: tick the one you are applying for.")


async def test_a_form_whose_wording_names_every_offer_chooses_none_when_no_box_is_ticked(runtime, relay):
    form = documents.word_controls_form(set(), centres=None, guidance=NAMING_EVERY_OFFER)
    submissions, reply = await sent(runtime, relay, mail("EOI.docx", WORD, form))
    assert not any(s["offer"] for s in submissions)
    assert ASKED in reply
    for offer in ("PBR-0001", "EA-0001", "CCS-0001"):
        assert offer not in reply


async def test_a_form_whose_wording_names_every_offer_gives_only_the_ticked_one(runtime, relay):
    form = documents.word_controls_form({PBR}, guidance=NAMING_EVERY_OFFER)
    submissions, reply = await sent(runtime, relay, mail("EOI Camden.docx", WORD, form))
    only_pbr(submissions, reply)


async def test_the_covering_letter_names_the_offer_a_form_left_unticked(runtime, relay):
    form = documents.word_controls_form(set(), guidance=NAMING_EVERY_OFFER)
    raw = mail("EOI.docx", WORD, form)
    raw = raw.replace(b"our completed expression of interest.", b"our completed expression of interest for the PbR pathfinder.")
    submissions, reply = await sent(runtime, relay, raw)
    only_pbr(submissions, reply)


def test_what_a_content_control_form_reads_as():
    [read] = read_attachment("EOI.docx", WORD, documents.word_controls_form({PBR}, centres=None))
    text = read.text
    assert "Which offer?: PbR pathfinder" in text and "Early adopter" not in text
    assert "Date: 20/05/2027" in text
    # A placeholder is no answer, and a label left empty takes nothing from the page after it.
    assert "Click or tap" not in text and "Number of children's centres" not in text
    assert "Support needed" not in text
    # The text box once (it is written twice, for new and old Word); the footer not at all.
    assert text.count("Send this form to eoi@cib.test by 27 May.") == 1
    assert "Department for Education" not in text


def test_word_structures_read_in_order():
    """Legacy form fields written by Word, a table of options with a box a row under a
    one-cell question, a tracked deletion, a Wingdings box and a field's result."""
    box = ('<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Check1"/><w:enabled/>'
           '<w:calcOnExit w:val="0"/><w:checkBox><w:sizeAuto/><w:default w:val="{default}"/>{checked}'
           '</w:checkBox></w:ffData></w:fldChar></w:r><w:r><w:instrText xml:space="preserve"> FORMCHECKBOX '
           '</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>')
    text_field = ('<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Text1"/><w:textInput/>'
                  '</w:ffData></w:fldChar></w:r><w:r><w:instrText xml:space="preserve"> FORMTEXT </w:instrText>'
                  '</w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>{result}'
                  '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    drop = ('<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Drop1"/><w:ddList>'
            '<w:result w:val="1"/><w:listEntry w:val="Director"/><w:listEntry w:val="Head of Early Help"/>'
            '</w:ddList></w:ffData></w:fldChar></w:r><w:r><w:instrText xml:space="preserve"> FORMDROPDOWN '
            '</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:fldChar '
            'w:fldCharType="end"/></w:r>')
    row = '<w:tr><w:tc><w:p>{0}</w:p></w:tc><w:tc><w:p>{1}</w:p></w:tc></w:tr>'
    body = (
        f"<w:p>{documents.run('Council: ')}{text_field.format(result=documents.run('Camden'))}</w:p>"
        f"<w:p>{documents.run('Contact role: ')}{drop}</w:p>"
        f"<w:p>{documents.run('Contact name: ')}{text_field.format(result=documents.run(chr(0x2002) * 5))}</w:p>"
        '<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p>'
        f"{documents.run('Offer')}</w:p></w:tc></w:tr>"
        + row.format(box.format(default=0, checked='<w:checked/>'), documents.run("PbR pathfinder"))
        + row.format(box.format(default=1, checked='<w:checked w:val="0"/>'), documents.run("Early adopter"))
        + row.format(box.format(default=0, checked=""), documents.run("Children's centres support"))
        + "</w:tbl>"
        f'<w:p>{documents.run("Signed ")}<w:del w:id="1" w:author="A"><w:r><w:delText>J Bloggs</w:delText></w:r>'
        f'</w:del><w:ins w:id="2" w:author="A">{documents.run("Jane Smith")}</w:ins></w:p>'
        f'<w:p><w:r><w:sym w:font="Wingdings" w:char="F0FE"/></w:r>{documents.run(" We agree to share the results")}</w:p>'
        f'<w:p><w:r><w:sym w:font="Wingdings" w:char="F0A8"/></w:r>{documents.run(" We need a call first")}</w:p>'
    )
    [read] = read_attachment("EOI.docx", WORD, documents.word_xml_form(body))
    assert read.text.split("\n") == [
        "Council: Camden", "Contact role: Head of Early Help", "",
        "Offer: PbR pathfinder", "Signed Jane Smith", "We agree to share the results",
    ]


# --- Word and OpenDocument made by LibreOffice -------------------------------------------


@pytest.mark.parametrize("target,name,content_type", [
    ("docx", "EOI Camden.docx", WORD),
    ("odt", "EOI Camden.odt", ODT),
], ids=["docx", "odt"])
async def test_legacy_form_fields_made_by_libreoffice(runtime, relay, target, name, content_type):
    data = documents.made_by_libreoffice(documents.legacy_fields_form({PBR}), ".fodt", target)
    submissions, reply = await sent(runtime, relay, mail(name, content_type, data))
    only_pbr(submissions, reply)
    assert f"We read your attachment {name}." in reply


async def test_an_opendocument_spreadsheet_reads_like_excel(runtime, relay):
    rows = [("Council", "London Borough of Camden"), ("Contact name", "Jane Smith"),
            ("Contact role", "Head of Early Help"), ("Number of children's centres", "12")]
    data = documents.made_by_libreoffice(documents.fods_form(rows), ".fods", "ods")
    submissions, reply = await sent(runtime, relay, mail("EOI Camden.ods", ODS, data))
    only_pbr(submissions, reply)


async def test_a_real_word_97_document_is_named_as_the_old_format(runtime, relay):
    data = documents.made_by_libreoffice(documents.legacy_fields_form({PBR}), ".fodt", "doc")
    assert data.startswith(b"\xd0\xcf\x11\xe0")  # an OLE compound file, as Word 97-2003 writes it
    _, reply = await sent(runtime, relay, mail("EOI.doc", "application/msword", data))
    assert "We could not read your attachment EOI.doc: it is in the Word 97-2003 (.doc) format" in reply


# --- PDF forms -------------------------------------------------------------------------------


def _input(label: str, value: str) -> str:
    return f'<p>{label} <input type="text" name="{label}" value="{value}" size="40"></p>'


def _pdf_check_boxes(ticked: set[str], *, centres: str = "12") -> bytes:
    boxes = "".join(f'<p><input type="checkbox" name="{o}" value="Yes"{" checked" if o in ticked else ""}> {o}</p>'
                    for o in documents.OFFERS)
    fields = (_input("Council", "London Borough of Camden") + _input("Contact name", "Jane Smith")
              + '<p>Contact role <select name="Contact role"><option>Director of Children\'s Services</option>'
              "<option selected>Head of Early Help</option></select></p>"
              "<p>Which offer are you applying for?</p>" + boxes
              + _input("Number of children's centres", centres))
    source = documents.html_form(fields, after="<p>Page 1 of 1</p>")
    return documents.made_by_libreoffice(source, ".html", documents.PDF_WITH_FIELDS, infilter=documents.HTML_IN_WRITER)


async def test_a_pdf_forms_typed_values_and_ticked_box_are_read_not_its_footer(runtime, relay):
    submissions, reply = await sent(runtime, relay, mail("EOI Camden.pdf", PDF, _pdf_check_boxes({PBR})))
    only_pbr(submissions, reply)


async def test_a_pdf_with_no_box_ticked_chooses_nothing(runtime, relay):
    submissions, reply = await sent(runtime, relay, mail("EOI Camden.pdf", PDF, _pdf_check_boxes(set(), centres="")))
    assert all(s["offer"] == "" for s in submissions) and ASKED in reply


def _pdf_printed_and_typed() -> bytes:
    """The values typed in the fields and also printed on the page, as a form filled in and
    then annotated; the role only in its field, the offer as a radio group."""
    printed = ("<p>Council: London Borough of Camden</p><p>Contact name: Jane Smith</p>"
               "<p>Number of children's centres: 12</p>")
    radios = ('<p>Offer <input type="radio" name="Offer" value="EA"> Early adopter '
              '<input type="radio" name="Offer" value="PbR" checked> PbR pathfinder</p>')
    fields = (_input("Council", "London Borough of Camden") + _input("Contact name", "Jane Smith")
              + _input("Contact role", "Head of Early Help") + radios + _input("Number of children's centres", "12"))
    source = documents.html_form(fields, before=printed)
    return documents.made_by_libreoffice(source, ".html", documents.PDF_WITH_FIELDS, infilter=documents.HTML_IN_WRITER)


async def test_a_pdf_whose_values_are_also_page_text_is_read_once(runtime, relay):
    data = _pdf_printed_and_typed()
    submissions, reply = await sent(runtime, relay, mail("EOI Camden.pdf", PDF, data))
    only_pbr(submissions, reply)
    [attachment] = read_email(mail("EOI Camden.pdf", PDF, data)).attachments
    for line in ("Council: London Borough of Camden", "Contact name: Jane Smith", "Number of children's centres: 12",
                 "Contact role: Head of Early Help", "Offer: PbR"):
        assert attachment.text.split("\n").count(line) == 1, attachment.text


async def test_an_xfa_form_is_named_with_what_to_send_instead(runtime, relay):
    submissions, reply = await sent(runtime, relay, mail("EOI Camden.pdf", PDF, documents.xfa_pdf()))
    assert submissions == []
    assert ("We could not read your attachment EOI Camden.pdf: it is an XFA form (made with Adobe LiveCycle), "
            "whose answers we cannot read: please send the form as a Word document, or type your answers "
            "into an email.") in " ".join(reply.split())


# --- each kind of PDF field, and what the page repeats -------------------------------------


def _widget_states(*states: str) -> dict[str, object]:
    return {"/AP": {"/N": {state: {} for state in ("/Off", *states)}}}


def test_every_kind_of_pdf_field_gives_its_line():
    fields = [
        {"/T": "txtCouncil", "/TU": "Council", "/FT": "/Tx", "/V": "London Borough of Camden"},
        {"/T": "Contact_name[0]", "/FT": "/Tx", "/V": "Jane\r\nSmith"},
        {"/T": "ContactRole", "/FT": "/Ch", "/Ff": 131072, "/V": "heh",
         "/Opt": [["dcs", "Director of Children's Services"], ["heh", "Head of Early Help"]]},
        {"/T": "Offer", "/Kids": [
            {"/T": "PbR pathfinder", "/FT": "/Btn", "/V": "/Yes", **_widget_states("/Yes")},
            {"/T": "Early adopter", "/FT": "/Btn", "/V": "/Off", **_widget_states("/Yes")},
            {"/T": "Children's centres support", "/FT": "/Btn", "/V": "/Yes", **_widget_states("/Yes")},
        ]},
        {"/T": "Region", "/FT": "/Btn", "/Ff": 1 << 15, "/V": "/London", "/Kids": [
            _widget_states("/London"), _widget_states("/North#20West")]},
        {"/T": "Cluster", "/FT": "/Btn", "/V": "/Off", **_widget_states("/Yes")},
        {"/T": "Submit", "/FT": "/Btn", "/Ff": 1 << 16},
        {"/T": "Number of children's centres", "/FT": "/Tx", "/V": "12"},
    ]
    page = ["Expression of interest", "Council", "Early adopter", "Number of children's centres", "Version 12",
            "Page 1 of 2"]
    [read] = read_attachment("EOI.pdf", PDF, documents.pdf_with_fields(page, fields))
    assert read.text.split("\n") == [
        "Council: London Borough of Camden", "Contact name: Jane Smith", "Contact Role: Head of Early Help",
        "Offer: PbR pathfinder, Children's centres support", "Region: London",
        "Number of children's centres: 12", "",
        # The page without what the fields say: their labels, the box left empty.
        "Expression of interest", "Version 12", "Page 1 of 2",
    ]


def test_an_xfa_form_with_its_acroform_filled_in_is_read_from_its_fields():
    fields = [{"/T": "Council", "/FT": "/Tx", "/V": "London Borough of Camden"}]
    [read] = read_attachment("EOI.pdf", PDF, documents.pdf_with_fields(["Please wait..."], fields, xfa=True))
    assert read.read and "Council: London Borough of Camden" in read.text


# --- OpenDocument guarded as Word is ------------------------------------------------------


def _odf(content: str, mimetype: str = ODT) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content)
    return out.getvalue()


def test_an_opendocument_with_a_document_type_is_not_expanded():
    laughs = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
              ']><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">'
              "&b;</office:document-content>")
    [read] = read_attachment("EOI.odt", ODT, _odf(laughs))
    assert "XML document type" in read.problem


def test_a_sheet_that_repeats_its_cells_to_the_edge_costs_only_the_caps():
    row = ('<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
           'table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p></table:table-cell>'
           "</table:table-row>")
    content = (f'<?xml version="1.0"?><office:document-content {documents.ODF_NAMESPACES}><office:body>'
               '<office:spreadsheet><table:table table:name="EOI"><table:table-row><table:table-cell '
               'office:value-type="string"><text:p>Council</text:p></table:table-cell><table:table-cell '
               'office:value-type="string"><text:p>London Borough of Camden</text:p></table:table-cell>'
               f"</table:table-row>{row}</table:table></office:spreadsheet></office:body></office:document-content>")
    [read] = read_attachment("EOI.ods", ODS, _odf(content, ODS))
    assert read.text.startswith("Council: London Borough of Camden") and len(read.text) <= 100_000
