"""Appendix A: the list of regional children's improvement leads (region, role, name,
council), as the CIB attaches it to its reports; `cib leads --format html|csv|md`.

The rows come from the same grid as the leads replies and the digest (intake.reports.reply_data
.leads_view), so every view names the same people.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import TYPE_CHECKING, Any

from intake.campaign.register import REGIONS
from intake.reports.export import csv_safe, visible
from intake.render import Renderer
from intake.reports.reply_data import leads_view, when

if TYPE_CHECKING:
    from intake.service import IntakeService

COLUMNS = ("Region", "Role", "Name", "Council", "Note")
UNVERIFIED = "unverified: not from a proven address of the region's councils"
FORMATS = ("html", "csv", "md")


async def appendix_a(service: IntakeService) -> list[dict[str, str]]:
    """One row per region and role, in the register's region order; unnamed roles have an
    empty name; a lead not nominated from a proven address of the region is noted."""
    async with service.store.reader() as unit:
        nominations = await unit.nominations.all()
    rows = []
    for region in leads_view(nominations, service.campaign, service.councils, REGIONS):
        for role in region["roles"]:
            note = UNVERIFIED if role["name"] and not role["verified"] else ""
            rows.append(
                {"region": region["region"], "role": role["title"], "name": role["name"], "council": role["council"], "note": note}
            )
    return rows


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([csv_safe(row[key]) for key in ("region", "role", "name", "council", "note")])
    return out.getvalue()


# Inline Markdown (CommonMark and GFM: emphasis, code, links and images, strikethrough,
# table cells) is backslash-escaped; a cell is never the start of a line, so block markers
# (# - + 1.) cannot act. <, > and & become entities: renderers pass raw HTML through.
_MD_ESCAPES = {**{c: "\\" + c for c in "\\`*_{}[]()!|~"}, "<": "&lt;", ">": "&gt;", "&": "&amp;"}
_MD_TABLE = str.maketrans(_MD_ESCAPES)


def _md(value: str) -> str:
    """A table cell from what people typed: one line, with markup shown as text."""
    return " ".join(visible(value).translate(_MD_TABLE).split()) or "—"


def to_markdown(rows: list[dict[str, str]], *, title: str = "Appendix A: regional children's improvement leads") -> str:
    lines = [f"## {title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    previous = None
    for row in rows:
        region = row["region"] if row["region"] != previous else ""
        previous = row["region"]
        cells = [_md(region) if region else "", _md(row["role"]), _md(row["name"]), _md(row["council"]), _md(row.get("note", ""))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_html(rows: list[dict[str, str]], renderer: Renderer, *, context: dict[str, Any]) -> str:
    grouped: list[dict[str, Any]] = []
    # Autoescaped for HTML; control characters (which HTML cannot hold, and which steer the
    # terminal it is often printed to) and hidden ones are dropped first.
    rows = [{key: visible(value) if isinstance(value, str) else value for key, value in row.items()} for row in rows]
    for row in rows:
        if not grouped or grouped[-1]["region"] != row["region"]:
            grouped.append({"region": row["region"], "rows": []})
        grouped[-1]["rows"].append(row)
    return renderer.render("leads.html.j2", {**context, "regions": grouped, "columns": COLUMNS})


async def render(service: IntakeService, fmt: str, *, renderer: Renderer, now: datetime) -> str:
    rows = await appendix_a(service)
    if fmt == "csv":
        return to_csv(rows)
    if fmt == "md":
        return to_markdown(rows)
    named = sum(1 for row in rows if row["name"])
    return to_html(
        rows, renderer,
        context={"as_of": when(now, service.campaign), "named": named, "total": len(rows), "campaign_name": service.campaign.campaign.name},
    )
