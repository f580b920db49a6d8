"""Office documents as councils attach them: a Word form (python-docx), an Excel form
(openpyxl) and a text PDF built byte by byte (a scan when it has no lines); Word forms as
Word writes them (content controls, text boxes); and documents made by LibreOffice itself
from a flat XML or HTML source: Word and OpenDocument files with form fields, PDFs with
AcroForm fields, old .doc files."""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from docx import Document
from openpyxl import Workbook

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def word_form(rows: list[tuple[str, str]], *, title: str = "Expression of interest: Payment by Results pathfinder") -> bytes:
    document = Document()
    document.add_heading(title, level=1)
    document.add_paragraph("Please complete every row.")
    table = document.add_table(rows=len(rows), cols=2)
    for row, (label, value) in zip(table.rows, rows):
        row.cells[0].text, row.cells[1].text = label, value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def excel_form(rows: list[tuple[str, str]], *, title: str = "Expression of interest: Payment by Results pathfinder") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append([title])
    for label, value in rows:
        sheet.append([label, int(value) if value.isdigit() else value])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pdf(lines: list[str]) -> bytes:
    """A one-page PDF: the lines as text, or (no lines) only a drawn box, as a scan has no text."""
    if lines:
        shown = " ".join(f"({line.replace('(', '').replace(')', '')}) Tj 0 -16 Td" for line in lines)
        stream = f"BT /F1 12 Tf 72 720 Td {shown} ET".encode("latin-1", "replace")
    else:
        stream = b"0.5 g 72 400 300 200 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_file(objects)


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of these objects, numbered from 1 (the first the catalogue), with its cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --- Word forms as Word writes them: content controls, text boxes ------------------------

WORD_NAMESPACES = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml"'
)
OFFERS = ("PbR pathfinder", "Early adopter", "Children's centres support")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{_escape(text)}</w:t></w:r>'


def check_box(ticked: bool) -> str:
    """A check box content control, as Word 2010 and later write it (the glyph shown in
    MS Gothic; the state in w14:checked)."""
    glyph = "☒" if ticked else "☐"
    return ('<w:sdt><w:sdtPr><w:id w:val="-1"/><w14:checkbox>'
            f'<w14:checked w14:val="{1 if ticked else 0}"/>'
            '<w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
            '<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox></w:sdtPr>'
            '<w:sdtContent><w:r><w:rPr><w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic" w:hAnsi="MS Gothic" '
            f'w:hint="eastAsia"/></w:rPr><w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>')


def text_control(value: str | None, *, kind: str = "<w:text/>", alias: str = "") -> str:
    """A plain text control (`kind` <w:text/>), rich text (""), drop-down list or date
    picker; None: still showing Word's placeholder."""
    named = f'<w:alias w:val="{alias}"/><w:tag w:val="{alias}"/>' if alias else ""
    if value is None:
        return (f'<w:sdt><w:sdtPr>{named}<w:id w:val="-2"/><w:showingPlcHdr/>{kind}</w:sdtPr><w:sdtContent>'
                '<w:r><w:rPr><w:rStyle w:val="PlaceholderText"/></w:rPr>'
                '<w:t>Click or tap here to enter text.</w:t></w:r></w:sdtContent></w:sdt>')
    return f'<w:sdt><w:sdtPr>{named}<w:id w:val="-3"/>{kind}</w:sdtPr><w:sdtContent>{run(value)}</w:sdtContent></w:sdt>'


def drop_down(choices: list[str], chosen: str) -> str:
    items = "".join(f'<w:listItem w:displayText="{_escape(c)}" w:value="{_escape(c)}"/>' for c in choices)
    return text_control(chosen, kind=f'<w:dropDownList><w:listItem w:displayText="Choose an item." w:value=""/>'
                                     f'{items}</w:dropDownList>')


def date_picker(shown: str, iso: str) -> str:
    return text_control(shown, kind=f'<w:date w:fullDate="{iso}T00:00:00Z"><w:dateFormat w:val="dd/MM/yyyy"/>'
                                     '<w:lid w:val="en-GB"/><w:storeMappedDataAs w:val="dateTime"/>'
                                     '<w:calendar w:val="gregorian"/></w:date>')


def text_box(text: str) -> str:
    """A text box as Word writes it: a DrawingML shape, and the same text again in VML for
    older readers."""
    paragraph = f"<w:p>{run(text)}</w:p>"
    return ('<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor distT="0" distB="0" '
            'distL="114300" distR="114300" simplePos="0" relativeHeight="1" behindDoc="0" locked="0" '
            'layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/><wp:extent cx="2000000" cy="400000"/>'
            '<wp:docPr id="1" name="Text Box 1"/><a:graphic><a:graphicData '
            'uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp><wps:txbx>'
            f'<w:txbxContent>{paragraph}</w:txbxContent></wps:txbx><wps:bodyPr/></wps:wsp></a:graphicData>'
            '</a:graphic></wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>'
            f'<w:txbxContent>{paragraph}</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback>'
            '</mc:AlternateContent></w:r>')


def _cell(content: str) -> str:
    paragraphs = content if content.startswith("<w:p>") else f"<w:p>{content}</w:p>"
    return f'<w:tc><w:tcPr><w:tcW w:w="4500" w:type="dxa"/></w:tcPr>{paragraphs}</w:tc>'


def word_xml_form(body: str, *, footer: str = "") -> bytes:
    """A .docx whose body is `body` (WordprocessingML), with python-docx's styles and
    section, and `footer` in its footer."""
    from docx.oxml import parse_xml

    document = Document()
    element = document.element.body
    for child in list(element)[:-1]:  # all but the section properties
        element.remove(child)
    wrapper = parse_xml(f"<w:body {WORD_NAMESPACES}>{body}</w:body>")
    for index, child in enumerate(list(wrapper)):
        element.insert(index, child)
    if footer:
        document.sections[0].footer.paragraphs[0].text = footer
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def word_controls_form(ticked: set[str], *, centres: str | None = "12", support: str | None = None,
                       guidance: str = "Complete the table and tick the offer you are applying for.") -> bytes:
    """An expression of interest as a council fills it in Word: its table inside a content
    control, the answers in text, drop-down and date controls, one check box a paragraph
    beside each offer, a text box, and a footer."""
    offers = "".join(f"<w:p>{check_box(o in ticked)}{run(' ' + o)}</w:p>" for o in OFFERS)
    rows = [
        ("Council", text_control("London Borough of Camden", alias="Council")),
        ("Contact name", text_control("Jane Smith", kind="")),
        ("Contact role", drop_down(["Director of Children's Services", "Head of Early Help"], "Head of Early Help")),
        ("Date", date_picker("20/05/2027", "2027-05-20")),
        ("Which offer?", offers),
        ("Number of children's centres", text_control(centres)),
        ("Support needed", text_control(support)),
    ]
    table = ('<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="9000" w:type="dxa"/></w:tblPr>'
             '<w:tblGrid><w:gridCol w:w="4500"/><w:gridCol w:w="4500"/></w:tblGrid>'
             + "".join(f"<w:tr>{_cell(run(label))}{_cell(value)}</w:tr>" for label, value in rows) + "</w:tbl>")
    body = (f'<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr>{run("Expression of interest")}</w:p>'
            f"<w:p>{run(guidance)}</w:p>"
            f'<w:sdt><w:sdtPr><w:alias w:val="Answers"/><w:id w:val="-4"/></w:sdtPr><w:sdtContent>{table}'
            "</w:sdtContent></w:sdt>"
            f"<w:p>{text_box('Send this form to eoi@cib.test by 27 May.')}</w:p>"
            f"<w:p>{run('Thank you: the programme team will be in touch within five working days.')}</w:p>")
    return word_xml_form(body, footer="Council: Department for Education (form owner)")


# --- documents made by LibreOffice ---------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cib-intake-tests" / "office"


def made_by_libreoffice(source: str, suffix: str, target: str, *, infilter: str = "") -> bytes:
    """`source` (a document LibreOffice opens: flat XML .fodt/.fods, or HTML) converted
    with `soffice --headless --convert-to target`, kept in CACHE under the hash of what
    made it, so each document is converted once. Without soffice: skipped, failed in CI."""
    key = hashlib.sha256("\0".join([source, suffix, target, infilter]).encode()).hexdigest()[:24]
    extension = target.split(":", 1)[0]
    cached = CACHE / f"{key}.{extension}"
    if cached.exists():
        return cached.read_bytes()
    if not SOFFICE:
        from tests.accessibility import missing

        missing("LibreOffice is not installed (apt-get install --no-install-recommends libreoffice-writer "
                "libreoffice-calc): it makes the office documents of these tests")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cib-soffice-") as folder:
        work = Path(folder)
        (work / f"form{suffix}").write_text(source, encoding="utf-8")
        # A profile of its own: a second soffice (another test run) does not wait on this one.
        command = [SOFFICE, f"-env:UserInstallation=file://{work}/profile", "--headless", "--norestore",
                   *(["--infilter=" + infilter] if infilter else []), "--convert-to", target,
                   "--outdir", str(work / "out"), str(work / f"form{suffix}")]
        done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
        made = work / "out" / f"form.{extension}"
        if not made.exists():
            raise AssertionError(f"soffice made no .{extension}: {done.stdout}{done.stderr}")
        data = made.read_bytes()
    partial = cached.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(cached)  # whole or not at all, for runs side by side
    return data


ODF_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:field="urn:openoffice:names:experimental:ooo-ms-interop:xmlns:field:1.0"'
)


def fodt_check_box(ticked: bool, number: int) -> str:
    """A legacy form check box (Writer's Form > Legacy Form Fields; Word's FORMCHECKBOX)."""
    return (f'<field:fieldmark text:name="__Fieldmark__{number}" '
            'field:type="vnd.oasis.opendocument.field.FORMCHECKBOX">'
            f'<field:param field:name="Checkbox_Checked" field:value="{str(ticked).lower()}"/></field:fieldmark>')


def fodt_text_field(value: str, number: int) -> str:
    return (f'<field:fieldmark-start text:name="__Fieldmark__{number}" '
            f'field:type="vnd.oasis.opendocument.field.FORMTEXT"/>{_escape(value)}<field:fieldmark-end/>')


def fodt_drop_down(choices: list[str], chosen: str, number: int) -> str:
    entries = "".join(f'<field:param field:name="Dropdown_ListEntry" field:value="{_escape(c)}"/>' for c in choices)
    return (f'<field:fieldmark text:name="__Fieldmark__{number}" field:type="vnd.oasis.opendocument.field.FORMDROPDOWN">'
            f'{entries}<field:param field:name="Dropdown_Selected" field:value="{choices.index(chosen)}"/>'
            '</field:fieldmark>')


def legacy_fields_form(ticked: set[str], *, centres: str = "12", support: str = "") -> str:
    """A Writer document (flat XML) with legacy form fields: the offers as check boxes, one
    a paragraph under their question, the answers as text fields and a drop-down; a footer."""
    offers = "".join(f"<text:p>{fodt_check_box(o in ticked, n)} {_escape(o)}</text:p>" for n, o in enumerate(OFFERS))
    rows = [("Council", fodt_text_field("London Borough of Camden", 10)),
            ("Contact name", fodt_text_field("Jane Smith", 11)),
            ("Contact role", fodt_drop_down(["Director of Children's Services", "Head of Early Help"],
                                            "Head of Early Help", 12)),
            ("Number of children's centres", fodt_text_field(centres, 13)),
            ("Support needed", fodt_text_field(support, 14))]
    table = ('<table:table table:name="Answers"><table:table-column table:number-columns-repeated="2"/>'
             + "".join(f"<table:table-row><table:table-cell><text:p>{_escape(label)}</text:p></table:table-cell>"
                       f"<table:table-cell><text:p>{value}</text:p></table:table-cell></table:table-row>"
                       for label, value in rows) + "</table:table>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><office:document {ODF_NAMESPACES} office:version="1.3" '
            'office:mimetype="application/vnd.oasis.opendocument.text">'
            '<office:automatic-styles><style:page-layout style:name="pm1"/></office:automatic-styles>'
            '<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1">'
            "<style:footer><text:p>Council: Department for Education (form owner)</text:p></style:footer>"
            "</style:master-page></office:master-styles><office:body><office:text>"
            '<text:h text:outline-level="1">Expression of interest</text:h>'
            "<text:p>Which offer are you applying for?</text:p>" + offers + table +
            "<text:p>Thank you: the programme team will be in touch within five working days.</text:p>"
            "</office:text></office:body></office:document>")


def fods_form(rows: list[tuple[str, str]], *, title: str = "Expression of interest: Payment by Results pathfinder") -> str:
    """A Calc workbook (flat XML) laid out as the Excel form: a title, then label and value."""
    def cell(value: str) -> str:
        if value.isdigit():
            return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'
        return f'<table:table-cell office:value-type="string"><text:p>{_escape(value)}</text:p></table:table-cell>'

    body = f"<table:table-row>{cell(title)}</table:table-row>" + "".join(
        f"<table:table-row>{cell(label)}{cell(value)}</table:table-row>" for label, value in rows)
    return (f'<?xml version="1.0" encoding="UTF-8"?><office:document {ODF_NAMESPACES} office:version="1.3" '
            'office:mimetype="application/vnd.oasis.opendocument.spreadsheet"><office:body><office:spreadsheet>'
            f'<table:table table:name="EOI">{body}</table:table></office:spreadsheet></office:body></office:document>')


def html_form(fields: str, *, before: str = "", after: str = "") -> str:
    """An HTML page with a form: LibreOffice makes its inputs form controls, and PDF form
    fields when it exports it (--convert-to pdf, ExportFormFields)."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>EOI</title></head><body>'
            f"<h1>Expression of interest</h1>{before}<form>{fields}</form>{after}</body></html>")


PDF_WITH_FIELDS = 'pdf:writer_pdf_Export:{"ExportFormFields":{"type":"boolean","value":"true"}}'
HTML_IN_WRITER = "HTML (StarWriter)"


def xfa_pdf() -> bytes:
    """A form made with Adobe LiveCycle Designer, as Reader saves it: its answers in the XFA
    stream, an AcroForm with no field filled in, and a page that asks for a newer reader."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, BooleanObject, DictionaryObject, NameObject, StreamObject

    writer = PdfWriter(clone_from=io.BytesIO(pdf([
        "Please wait...",
        "If this message is not eventually replaced by the proper contents of the document, your PDF",
        "viewer may not be able to display this type of document.",
    ])))
    datasets = StreamObject()
    datasets.set_data(b'<xfa:datasets xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><xfa:data><form1>'
                      b"<Council>London Borough of Camden</Council><Centres>12</Centres></form1></xfa:data>"
                      b"</xfa:datasets>")
    form = DictionaryObject({
        NameObject("/Fields"): ArrayObject(),
        NameObject("/XFA"): ArrayObject([writer._add_object(datasets)]),
    })
    writer._root_object[NameObject("/AcroForm")] = writer._add_object(form)
    writer._root_object[NameObject("/NeedsRendering")] = BooleanObject(True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_fields(lines: list[str], fields: list[dict[str, object]], *, xfa: bool = False) -> bytes:
    """`pdf(lines)` with an AcroForm of `fields`: each a dictionary of PDF keys ("/T",
    "/FT", "/V", "/Kids" of such dictionaries...), strings as text and "/Name"s as names."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

    writer = PdfWriter(clone_from=io.BytesIO(pdf(lines)))

    def value(item: object) -> object:
        if isinstance(item, dict):
            return DictionaryObject({NameObject(k): value(v) for k, v in item.items()})
        if isinstance(item, list):
            return ArrayObject([value(v) for v in item])
        if isinstance(item, int):
            return NumberObject(item)
        text = str(item)
        return NameObject(text) if text.startswith("/") else TextStringObject(text)

    def add(field: dict[str, object], parent: object = None) -> object:
        kids = field.pop("/Kids", [])
        made = value(field)
        if parent is not None:
            made[NameObject("/Parent")] = parent
        reference = writer._add_object(made)
        if kids:
            made[NameObject("/Kids")] = ArrayObject([add(dict(kid), reference) for kid in kids])
        return reference

    form = DictionaryObject({NameObject("/Fields"): ArrayObject([add(dict(f)) for f in fields])})
    if xfa:
        form[NameObject("/XFA")] = ArrayObject()
    writer._root_object[NameObject("/AcroForm")] = writer._add_object(form)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
