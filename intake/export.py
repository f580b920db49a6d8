"""Exports of what has been received: JSON, CSV (one row per submission) and XLSX (one
sheet each for submissions, nominations and enquiries). Pure: data in, bytes/text out."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from openpyxl import Workbook

SUBMISSION_COLUMNS = [
    "reference", "offer", "council_code", "council", "region", "contact_name", "contact_email",
    "channel", "received_at", "late", "verified", "status",
]
NOMINATION_COLUMNS = [
    "reference", "region", "role", "name", "council_code", "council", "email", "channel", "received_at",
    "late", "verified",
]
ENQUIRY_COLUMNS = ["sender", "channel", "text", "received_at"]


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
    return json.dumps(data, indent=2, ensure_ascii=False)


def to_csv(data: dict[str, list[dict[str, Any]]]) -> str:
    """Submissions, one row each; every offer's own fields as extra columns."""
    header, rows = _submission_rows(data)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def to_xlsx(data: dict[str, list[dict[str, Any]]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Submissions"
    header, rows = _submission_rows(data)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for title, columns, key in (
        ("Nominations", NOMINATION_COLUMNS, "nominations"),
        ("Enquiries", ENQUIRY_COLUMNS, "enquiries"),
    ):
        page = book.create_sheet(title)
        page.append(columns)
        for item in data[key]:
            page.append([_cell(item.get(c)) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
