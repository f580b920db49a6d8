"""Downloads for the team: Appendix A and the decisions, as CSV and XLSX (both safe to
open in a spreadsheet: see `intake.reports.export`)."""
from __future__ import annotations

import asyncio

from aiohttp import web

from intake.reports import export
from intake.reports import appendix_a as leads
from workspace.sign_in import DEPS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(body: str | bytes, name: str, fmt: str) -> web.Response:
    kind = "text/csv; charset=utf-8" if fmt == "csv" else XLSX
    data = body.encode("utf-8") if isinstance(body, str) else body
    return web.Response(body=data, headers={
        "Content-Type": kind, "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
    })


def _format(request: web.Request) -> str:
    fmt = request.match_info["fmt"]
    if fmt not in ("csv", "xlsx"):
        raise web.HTTPNotFound()
    return fmt


async def appendix(request: web.Request) -> web.StreamResponse:
    fmt = _format(request)
    rows = await leads.appendix_a(request.app[DEPS].service)
    if fmt == "csv":
        return _file(leads.to_csv(rows), "appendix-a", fmt)
    table = [[row[k] for k in ("region", "role", "name", "council", "note")] for row in rows]
    return _file(await asyncio.to_thread(export.table_xlsx, "Appendix A", list(leads.COLUMNS), table), "appendix-a", fmt)


async def decisions(request: web.Request) -> web.StreamResponse:
    fmt = _format(request)
    header, rows = export.decision_rows(await request.app[DEPS].service.active_records())
    # A workbook of a whole campaign takes about a second to write: off the event loop,
    # which also answers SMTP, Slack and /healthz.
    body = export.table_csv(header, rows) if fmt == "csv" else await asyncio.to_thread(
        export.table_xlsx, "Decisions", header, rows)
    return _file(body, "decisions", fmt)
