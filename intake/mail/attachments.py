"""Attached documents read as text: Word (.docx), PDF, Excel (.xlsx), OpenDocument (.odt,
.ods), Outlook messages (.msg) and winmail.dat (TNEF), so a completed form sent as an
attachment is read as if it were in the body.

Tables become `Label: value` lines: a row of two cells is a label and its value; a table
whose first row is a header gives `Header: cell` for each cell below it. A form's fields
give their values and its check boxes the choices ticked (intake/mail/form_text.py, read
from Word by word_forms.py, from OpenDocument by opendocument.py, from PDF by
pdf_forms.py). Pure (bytes in, text out) and guarded: a file too large, a zip that unpacks
to far more than it weighs, too many pages or cells, running out of memory, or any library
failure gives a reason, never an exception. The work a document may cost is bounded where it is opened: the
service opens each in a worker process with its own limits (intake/mail/pool.py).
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from intake.mail.document_limits import MAX_ATTACHMENTS, MAX_BYTES, MAX_CHARS, MAX_COLUMNS, MAX_DEPTH, MAX_PAGES, MAX_ROWS
from intake.mail.form_text import blocks_text, cell_text, table_lines
from intake.mail.mail_text import normalise_newlines
from intake.mail.opendocument import content, sheets, text_blocks
from intake.mail.pdf_forms import form_text, without_fields
from intake.mail.unreadable import DAMAGED, Unreadable, check_zip  # DAMAGED and Unreadable as pool.py knows them
from intake.mail.word_forms import body_blocks

MIN_PDF_TEXT = 20  # fewer characters than this from a PDF: a scan

# Why a document was not read, as the reply gives it ("We could not read your attachment
# X: <reason>."); DAMAGED is in intake/mail/unreadable.py.
TOO_LARGE = "it is too large to read"
TOO_LONG = "it took too long to read"
TOO_MANY = f"we read at most {MAX_ATTACHMENTS} attachments from one email"

WORD = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXCEL = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
KINDS = {
    ".docx": "word", WORD: "word",
    ".xlsx": "excel", EXCEL: "excel",
    ".odt": "odt", ODT: "odt",
    ".ods": "ods", ODS: "ods",
    ".pdf": "pdf", "application/pdf": "pdf",
    ".msg": "outlook", "application/vnd.ms-outlook": "outlook",
    ".dat": "tnef", "application/ms-tnef": "tnef", "application/vnd.ms-tnef": "tnef",
}
# Old binary formats we cannot read: the sender is asked for the newer one.
OLD = {".doc": "Word 97-2003 (.doc)", ".xls": "Excel 97-2003 (.xls)", "application/msword": "Word 97-2003 (.doc)",
       "application/vnd.ms-excel": "Excel 97-2003 (.xls)"}


@dataclass(frozen=True)
class Attachment:
    """What was made of one attached file: its text, or why there is none."""

    name: str
    kind: str  # word | excel | odt | ods | pdf | outlook | tnef
    text: str = ""
    problem: str = ""  # why it was not read; "" when it was

    @property
    def read(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class DocumentFile:
    """One attached file as it came: what it is called, its declared type, its bytes."""

    name: str
    content_type: str
    data: bytes


# Opens documents, one list of Attachments for each file, in order: in this process
# (open_here), or in worker processes with limits (intake.mail.pool.DocumentPool.open).
Opener = Callable[[Sequence[DocumentFile]], list[list[Attachment]]]


def kind_of(name: str, content_type: str) -> str | None:
    """The kind of document an attachment is, by its name first (mail clients often send
    application/octet-stream), then its type; None for what we do not read."""
    lowered = (name or "").lower()
    extension = lowered[lowered.rfind("."):] if "." in lowered else ""
    if extension == ".dat" and lowered != "winmail.dat":
        return None
    return KINDS.get(extension) or KINDS.get((content_type or "").lower())


def old_format(name: str, content_type: str) -> str | None:
    lowered = (name or "").lower()
    extension = lowered[lowered.rfind("."):] if "." in lowered else ""
    return OLD.get(extension) or OLD.get((content_type or "").lower())


def unopened(file: DocumentFile) -> list[Attachment] | None:
    """What is known of a file without opening it: [] for one that is not a document we
    read (images, calendars...), the reason for one we will not open; None: open it."""
    kind = kind_of(file.name, file.content_type)
    if kind is None:
        old = old_format(file.name, file.content_type)
        if old:
            return [Attachment(file.name, "old", problem=f"it is in the {old} format, which we cannot read")]
        return []
    if len(file.data) > MAX_BYTES:
        return [Attachment(file.name, kind, problem=f"it is larger than {MAX_BYTES // (1024 * 1024)} MB")]
    return None


def read_attachments(files: Sequence[DocumentFile], opener: Opener | None = None) -> list[Attachment]:
    """Every file as what was made of it, in order. What needs opening (at most
    MAX_ATTACHMENTS documents; the rest are named as not read) is opened by `opener`, in
    this process when there is none."""
    planned: list[list[Attachment] | None] = []
    to_open: list[DocumentFile] = []
    for file in files:
        known = unopened(file)
        if known is None and len(to_open) >= MAX_ATTACHMENTS:
            known = [Attachment(file.name, kind_of(file.name, file.content_type) or "", problem=TOO_MANY)]
        if known is None:
            to_open.append(file)
        planned.append(known)
    opened = iter((opener or open_here)(to_open) if to_open else [])
    return [a for known in planned for a in (known if known is not None else next(opened))]


def open_here(files: Sequence[DocumentFile]) -> list[list[Attachment]]:
    """Each document opened in this process, with no limit on the work it takes."""
    return [read_attachment(f.name, f.content_type, f.data) for f in files]


def read_attachment(name: str, content_type: str, data: bytes, *, depth: int = 0) -> list[Attachment]:
    """The attachment (and, for winmail.dat and .msg, what is attached inside it) as
    text; [] for a file that is not a document we read (images, calendars...)."""
    known = unopened(DocumentFile(name, content_type, data))
    if known is not None:
        return known
    kind = kind_of(name, content_type) or ""
    try:
        if kind == "word":
            return [Attachment(name, kind, _cap(_word(data)))]
        if kind == "excel":
            return [Attachment(name, kind, _cap(_excel(data)))]
        if kind == "odt":
            return [Attachment(name, kind, _cap(_odt(data)))]
        if kind == "ods":
            return [Attachment(name, kind, _cap(_ods(data)))]
        if kind == "pdf":
            return [Attachment(name, kind, _cap(_pdf(data)))]
        if kind == "outlook":
            return _outlook(name, data, depth)
        return _tnef(name, data, depth)
    except Unreadable as reason:
        return [Attachment(name, kind, problem=str(reason))]
    except MemoryError:  # past the memory a worker process may use (intake/mail/sandbox.py)
        return [Attachment(name, kind, problem=TOO_LARGE)]
    except Exception:  # noqa: BLE001 - a damaged or hostile file: each library raises its own
        return [Attachment(name, kind, problem=DAMAGED)]


def _cap(text: str) -> str:
    text = normalise_newlines(text).strip()
    if not text:
        raise Unreadable("it holds no text")
    return text[:MAX_CHARS]


# --- Word ------------------------------------------------------------------------------


def _word(data: bytes) -> str:
    from docx import Document

    check_zip(data)
    # python-docx opens the package (its XML parser resolves no entities); the body's XML
    # is read by word_forms, which sees what paragraph.text leaves out.
    document = Document(io.BytesIO(data))
    return blocks_text(body_blocks(document.element.body))


# --- OpenDocument ----------------------------------------------------------------------


def _odt(data: bytes) -> str:
    return blocks_text(text_blocks(content(data)))


def _ods(data: bytes) -> str:
    return "\n".join(line for rows in sheets(content(data)) for line in [*table_lines(rows), ""])


# --- Excel -----------------------------------------------------------------------------


def _excel(data: bytes) -> str:
    from openpyxl import load_workbook

    check_zip(data)
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        lines: list[str] = []
        budget = MAX_ROWS
        for sheet in book.worksheets:
            if budget <= 0:
                break
            # Read no further than the caps, whatever the sheet declares: read-only mode pads
            # every row to the declared width and fills the gaps up to the declared height.
            columns = min(sheet.max_column or MAX_COLUMNS, MAX_COLUMNS)
            rows: list[list[str]] = []
            for values in sheet.iter_rows(max_row=budget, max_col=columns, values_only=True):
                if budget <= 0:
                    break
                budget -= 1
                cells = [cell_text(_excel_value(v)) for v in values]
                if any(cells):
                    rows.append(cells)
            lines.extend([*table_lines(rows), ""])
        return "\n".join(lines)
    finally:
        book.close()


def _excel_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- PDF -------------------------------------------------------------------------------


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            reader.decrypt("")  # "protected" PDFs that open without a password
        except Exception as error:  # noqa: BLE001
            raise Unreadable("it is protected by a password") from error
    fields = form_text(reader)
    pages = "\n".join(page.extract_text() or "" for page in reader.pages[:MAX_PAGES])
    # The fields first: a value typed in one wins over stray page text under the same label.
    text = "\n".join([*fields.lines, "", without_fields(pages, fields.known)])
    if len("".join(text.split())) < MIN_PDF_TEXT:
        raise Unreadable("it holds no text we can read (it looks like a scan or a picture)")
    return text


# --- Outlook and TNEF ------------------------------------------------------------------


def _outlook(name: str, data: bytes, depth: int) -> list[Attachment]:
    import extract_msg

    message = extract_msg.openMsg(data)
    try:
        text = "\n".join(part for part in (f"Subject: {message.subject}" if message.subject else "",
                                            message.body or "") if part)
        inner = [(a.longFilename or a.shortFilename or "attachment", a.data) for a in message.attachments
                 if isinstance(getattr(a, "data", None), bytes)]
    finally:
        message.close()
    return [Attachment(name, "outlook", _cap(text)), *_inside(inner, depth)]


def _tnef(name: str, data: bytes, depth: int) -> list[Attachment]:
    from tnefparse import TNEF

    parsed = TNEF(data)
    body = parsed.body or b""
    text = body.decode("cp1252", errors="replace") if isinstance(body, bytes) else str(body)
    if not text.strip() and getattr(parsed, "htmlbody", None):
        from intake.mail.html_text import html_to_text

        html = parsed.htmlbody
        text = html_to_text(html.decode("utf-8", errors="replace") if isinstance(html, bytes) else html)
    inner = [(a.long_filename() or a.name or "attachment", a.data) for a in parsed.attachments]
    found = _inside(inner, depth)
    if text.strip():
        found.insert(0, Attachment(name, "tnef", _cap(text)))
    elif not found:
        raise Unreadable("it holds no text")
    return found


def _inside(files: Iterable[tuple[str, bytes]], depth: int) -> list[Attachment]:
    if depth >= MAX_DEPTH:
        return []
    inner = [DocumentFile(str(name), "", data or b"") for name, data in files]
    return read_attachments(
        inner, lambda chosen: [read_attachment(f.name, f.content_type, f.data, depth=depth + 1) for f in chosen]
    )
