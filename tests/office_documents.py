"""Office documents as councils attach them, written here: a Word form (python-docx), an
Excel form (openpyxl) and a text PDF built byte by byte (a scan when it has no lines)."""
from __future__ import annotations

import io

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
