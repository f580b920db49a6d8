"""Exports of what has been received: JSON, CSV (one row per submission) and XLSX (one
sheet each for submissions, nominations and enquiries). Pure: data in, bytes/text out.

Safe to open: what a sender wrote can never run as a spreadsheet formula. A CSV cell that
starts with `=`, `+`, `-`, `@`, a tab or a CR gets a leading `'`; an XLSX cell holding text
is written as text, never as a formula. Neither holds control characters (which XLSX cannot)
or characters that hide or reorder text. XLSX times are real date cells in London time."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

SUBMISSION_COLUMNS = [
    "reference", "offer", "council_code", "council", "region", "contact_name", "contact_email",
    "channel", "received_at", "late", "verified", "status", "decision", "place", "sender", "sender_authentication",
]
NOMINATION_COLUMNS = [
    "reference", "region", "role", "name", "council_code", "council", "email", "channel", "received_at",
    "late", "verified", "sender", "sender_authentication",
]
ENQUIRY_COLUMNS = ["sender", "channel", "text", "received_at"]
TIME_COLUMNS = {"received_at"}
LONDON = ZoneInfo("Europe/London")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# What steers a terminal or hides or reorders text, never part of a name: C0 and C1
# controls (but tab and line breaks), bidi embeddings, overrides, isolates and marks,
# zero-width spaces and the BOM. XML cannot hold the controls at all.
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e"
                     "\u2060\u2066-\u2069\ufeff]")


_C1 = re.compile("[\x7f-\x9f]")


def visible(text: str) -> str:
    """`text` without hidden characters; those that space words (a vertical tab) become a space."""
    return _HIDDEN.sub(lambda m: " " if m.group().isspace() else "", text)


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would read as a formula, made plain text."""
    if isinstance(value, str):
        value = visible(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _submission_rows(data: dict[str, list[dict[str, Any]]]) -> tuple[list[str], list[list[Any]]]:
    extra = sorted({key for s in data["submissions"] for key in s["fields"]} - set(SUBMISSION_COLUMNS))
    header = SUBMISSION_COLUMNS + extra
    rows = [[_cell(s.get(c)) for c in SUBMISSION_COLUMNS] + [_cell(s["fields"].get(k, "")) for k in extra]
            for s in data["submissions"]]
    return header, rows


def to_json(data: dict[str, list[dict[str, Any]]]) -> str:
    # JSON escapes C0 controls itself; DEL and the C1 controls (a terminal's CSI among
    # them) are escaped too, so the export can be printed: the same data.
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, indent=2, ensure_ascii=False))


def to_csv(data: dict[str, list[dict[str, Any]]]) -> str:
    """Submissions, one row each; every offer's own fields as extra columns."""
    header, rows = _submission_rows(data)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([csv_safe(cell) for cell in row] for row in rows)
    return out.getvalue()


def to_xlsx(data: dict[str, list[dict[str, Any]]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Submissions"
    header, rows = _submission_rows(data)
    _fill(sheet, header, rows)
    for title, columns, key in (
        ("Nominations", NOMINATION_COLUMNS, "nominations"),
        ("Enquiries", ENQUIRY_COLUMNS, "enquiries"),
    ):
        _fill(book.create_sheet(title), columns, [[_cell(item.get(c)) for c in columns] for item in data[key]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


DECISION_COLUMNS = [
    "reference", "offer", "council_code", "council", "region", "contact_name", "contact_email", "verified",
    "late", "status", "decision", "place", "received_at",
]


def decision_rows(data: dict[str, list[dict[str, Any]]]) -> tuple[list[str], list[list[Any]]]:
    """The team's decisions on the expressions of interest still in play, by offer."""
    active = sorted((s for s in data["submissions"] if s["status"] == "active"),
                    key=lambda s: (s["offer"], s.get("place") or 10**6, s["reference"]))
    return DECISION_COLUMNS, [[_cell(s.get(c)) for c in DECISION_COLUMNS] for s in active]


def table_csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([csv_safe(cell) for cell in row] for row in rows)
    return out.getvalue()


def table_xlsx(title: str, header: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    _fill(sheet, header, rows)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fill(sheet: Worksheet, header: list[str], rows: list[list[Any]]) -> None:
    """A header row kept in view with a filter on it, then the rows: text as text, times
    as London date cells."""
    sheet.append(header)
    times = {n for n, name in enumerate(header) if name in TIME_COLUMNS}
    for row in rows:
        # A control character someone typed would stop the whole workbook being written.
        sheet.append([_local_time(v) if n in times else visible(v) if isinstance(v, str) else v
                      for n, v in enumerate(row)])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def _local_time(value: Any) -> Any:
    """An ISO time as a London wall-clock datetime (spreadsheets have no time zones)."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(LONDON).replace(tzinfo=None) if moment.tzinfo else moment
