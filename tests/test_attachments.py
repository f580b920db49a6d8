"""Forms sent as attachments, the way councils send them: each document is written here
(python-docx, openpyxl, a PDF and a winmail.dat built byte by byte), attached to an email
from Outlook's kind of covering note, and sent over SMTP to the running service."""
from __future__ import annotations

import io
import struct
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from intake.mail.attachments import MAX_BYTES, table_lines
from intake.mail.extract import read_email
from tests import office_documents as documents
from tests.mailer import body_text, send, settle
from tests.office_documents import DOCX, XLSX, pdf

SENDER = "jane.smith@camden.gov.uk"
FORM = [("Council", "London Borough of Camden"), ("Contact name", "Jane Smith"),
        ("Contact role", "Head of Early Help"), ("Number of children's centres", "12")]
COVERING = "Hello,\n\nPlease find attached our completed expression of interest.\n\nKind regards\nJane"


def word_form(rows=FORM) -> bytes:
    return documents.word_form(rows)


def excel_form() -> bytes:
    return documents.excel_form(FORM)


def tnef(body: str, attachments: list[tuple[str, bytes]] = ()) -> bytes:
    """winmail.dat as Outlook writes it for rich text mail: the body, then each file."""
    def attribute(level: int, name: int, kind: int, data: bytes) -> bytes:
        return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)

    out = struct.pack("<IH", 0x223E9F78, 1) + attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
    out += attribute(1, 0x800C, 0x0002, body.encode("cp1252"))
    for name, data in attachments:
        out += attribute(2, 0x9002, 0x0006, bytes(14))
        out += attribute(2, 0x8010, 0x0001, name.encode() + b"\x00")
        out += attribute(2, 0x800F, 0x0006, data)
    return out


def mail(attachments: list[tuple[str, str, bytes]], body: str = COVERING, subject: str = "PbR pathfinder EOI") -> bytes:
    message = EmailMessage()
    message["From"] = f"Jane Smith <{SENDER}>"
    message["To"] = "eoi@cib.test"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="camden.gov.uk")
    message.set_content(body + "\n")
    for name, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(message)


async def _sent(runtime, relay, raw: bytes) -> tuple[list[dict], str]:
    assert (await send(runtime, raw, mail_from=SENDER))[0] == 250
    await settle(runtime)
    submissions = (await runtime.service.export())["submissions"]
    return submissions, body_text(relay.to(SENDER)[-1])


@pytest.mark.parametrize("name,content_type,data,read", [
    ("EOI Camden.docx", DOCX, word_form(), "attachment EOI Camden.docx"),
    ("EOI Camden.xlsx", XLSX, excel_form(), "attachment EOI Camden.xlsx"),
    ("EOI Camden.pdf", "application/pdf", pdf([f"{label}: {value}" for label, value in FORM]),
     "attachment EOI Camden.pdf"),
    ("winmail.dat", "application/ms-tnef", tnef("\n".join(f"{label}: {value}" for label, value in FORM)),
     "attachment winmail.dat"),
    # Outlook's rich text: the form itself attached inside winmail.dat.
    ("winmail.dat", "application/ms-tnef", tnef("Please find attached.", [("EOI Camden.docx", word_form())]),
     "attachments winmail.dat and EOI Camden.docx"),
    # Clients that send every file as application/octet-stream: known by its name.
    ("EOI Camden.docx", "application/octet-stream", word_form(), "attachment EOI Camden.docx"),
], ids=["word", "excel", "pdf", "winmail", "word-in-winmail", "octet-stream"])
async def test_a_form_sent_as_an_attachment_is_read(runtime, relay, name, content_type, data, read):
    submissions, reply = await _sent(runtime, relay, mail([(name, content_type, data)]))
    [submission] = submissions
    assert submission["offer"] == "pbr-pathfinder" and submission["council"] == "London Borough of Camden"
    assert submission["contact_name"] == "Jane Smith" and submission["fields"]["centres"] == 12
    assert "We have recorded" in reply and "PBR-0001" in reply
    assert f"We read your {read}." in reply


async def test_a_line_in_the_body_wins_over_the_attached_form(runtime, relay):
    raw = mail([("EOI.docx", DOCX, word_form())], body="Number of children's centres: 7\n\nForm attached.")
    [submission], _ = await _sent(runtime, relay, raw)
    assert submission["fields"]["centres"] == 7


async def test_a_scanned_pdf_gets_a_reply_asking_for_the_lines_as_text(runtime, relay):
    submissions, reply = await _sent(runtime, relay, mail([("Signed EOI.pdf", "application/pdf", pdf([]))]))
    assert submissions == []
    assert "We could not read your attachment Signed EOI.pdf: it holds no text we can read (it looks like a scan" in reply
    assert "copy its lines into the body of an email" in reply
    html = relay.to(SENDER)[-1].get_body(("html",)).get_content()
    assert "<strong>Signed EOI.pdf</strong>" in html
    async with runtime.store.reader() as unit:
        [inbound_id] = await unit.inbound.ids()
        row = await unit.inbound.get(inbound_id)
    assert row is not None and row.status == "processed" and b"Signed EOI.pdf" in row.raw  # kept whole


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (60 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize("name,content_type,data,problem", [
    ("EOI.docx", DOCX, b"PK\x03\x04 not really a zip", "it could not be opened (it may be damaged or protected)"),
    ("EOI.docx", DOCX, _zip_bomb(), "it unpacks to far more than its size"),
    ("EOI.pdf", "application/pdf", b"%PDF-1.4\n" + b"0" * (MAX_BYTES + 1), "it is larger than 5 MB"),
    ("EOI.doc", "application/msword", b"\xd0\xcf\x11\xe0 old Word", "it is in the Word 97-2003 (.doc) format"),
], ids=["corrupt", "zip-bomb", "too-large", "old-word"])
async def test_an_attachment_that_cannot_be_read_is_named_with_why(runtime, relay, name, content_type, data, problem):
    _, reply = await _sent(runtime, relay, mail([(name, content_type, data)]))
    assert f"We could not read your attachment {name}: {problem}" in reply


def test_a_table_with_a_header_row_gives_a_line_per_cell():
    rows = [["Council", "Contact name", "Contact role"], ["Camden", "Jane Smith", "Head of Early Help"]]
    assert table_lines(rows) == ["Council: Camden", "Contact name: Jane Smith", "Contact role: Head of Early Help"]
    # A label cell merged across two columns counts once.
    assert table_lines([["Council", "Council", "Camden"]]) == ["Council: Camden"]


def test_a_picture_attached_is_not_a_document():
    raw = mail([("logo.png", "image/png", b"\x89PNG\r\n\x1a\n")], body="Council: Camden")
    assert read_email(raw).attachments == ()
