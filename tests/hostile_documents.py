"""Documents small on the wire and costly to read, written here byte by byte: a workbook
declaring the largest sheet Excel allows, a PDF whose pages share one content stream that
inflates to hundreds of thousands of text operators, a Word zip bomb that unpacks to less
than the 50 MB limit (a document.xml of a million paragraphs), and a Word document of
50,000 one-letter lines, cheap to read and costly to parse."""
from __future__ import annotations

import io
import zipfile
import zlib

from tests.office_documents import DOCX, XLSX, pdf_file

FORM = [("Council", "London Borough of Camden"), ("Contact name", "Jane Smith"),
        ("Contact role", "Head of Early Help"), ("Number of children's centres", "12")]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def huge_sheet(rows: list[tuple[str, str]] = FORM) -> bytes:
    """A form in its first rows, in a sheet that declares A1:XFD1048576 and has one cell in
    its last row and column: read naively, 2,000 rows of 16,384 cells (about 1.7 KB)."""
    cells = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{label}</t></is></c>'
        f'<c r="B{n}" t="inlineStr"><is><t>{value}</t></is></c></row>'
        for n, (label, value) in enumerate(rows, start=1)
    )
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><dimension ref="A1:XFD1048576"/>'
             f'<sheetData>{cells}<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>.</t></is></c></row>'
             '</sheetData></worksheet>')
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{XLSX}.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELATIONSHIPS}">'
                        f'<Relationship Id="rId1" Type="{OFFICE}/officeDocument" Target="xl/workbook.xml"/>'
                        '</Relationships>'),
        "xl/workbook.xml": (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{OFFICE}">'
                            '<sheets><sheet name="EOI" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELATIONSHIPS}">'
            f'<Relationship Id="rId1" Type="{OFFICE}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": sheet,
    }
    return _zip(parts)


def slow_pdf(pages: int = 3, operators: int = 400_000) -> bytes:
    """`pages` pages sharing one Flate content stream of `operators` text-showing
    operators (about 5 KB; each page takes seconds to extract)."""
    stream = zlib.compress(b"BT /F1 12 Tf " + b"(x) Tj " * operators + b"ET", 9)
    kids = " ".join(f"{5 + n} 0 R" for n in range(pages)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *[b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
          b"/Resources << /Font << /F1 4 0 R >> >> >>"] * pages,
    ]
    return pdf_file(objects)


PARAGRAPH = b"<w:p><w:r><w:t>x</w:t></w:r></w:p>"


def word_bomb(megabytes: int = 45) -> bytes:
    """A .docx whose document.xml unpacks to `megabytes` of one-letter paragraphs: under the
    50 MB the archive may unpack to, about 135 KB sent, and a tree of gigabytes to build."""
    return many_lines((megabytes * 1024 * 1024 - 200) // len(PARAGRAPH))


def many_lines(paragraphs: int = 50_000) -> bytes:
    """A .docx of `paragraphs` one-letter paragraphs: read in a second, and as many lines
    of text to parse (50,000 give the 100,000 characters kept of a document)."""
    head = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document '
            b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
    body = head + PARAGRAPH * paragraphs + b"</w:body></w:document>"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{DOCX}.main+xml"/></Types>'),
        "_rels/.rels": (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELATIONSHIPS}">'
                        f'<Relationship Id="rId1" Type="{OFFICE}/officeDocument" Target="word/document.xml"/>'
                        '</Relationships>'),
        "word/document.xml": body,
    }
    return _zip(parts)


def _zip(parts: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()
