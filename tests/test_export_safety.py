"""Exports safe to open: a contact name written as a spreadsheet formula comes out as
text in `cib export` (CSV and XLSX) and in `/cib export`, sent in over real SMTP."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import load_workbook
from slack_support.harness import ADMIN, CAMDEN, slack  # noqa: F401
from slack_support.signing import command_form, dm_event, event_envelope

from tests.mailer import message, send, settle
from tests.test_cli import _env, cib

FORMULA = '=HYPERLINK("http://evil.test","Open")'


async def _submit_formula(runtime) -> None:
    body = f"""
        Council: Bury Metropolitan Borough Council
        Contact name: {FORMULA}
        Contact role: +44 Service Manager
        Number of children's centres: 7
    """
    code, _ = await send(runtime, message(body, sender="ali.khan@bury.gov.uk", subject="PbR pathfinder"))
    assert code == 250
    await settle(runtime)


async def test_formula_cells_are_text_in_csv_and_xlsx(runtime, tmp_path):
    await _submit_formula(runtime)
    env = _env(runtime, tmp_path)
    result = cib("export", "--format", "csv", env=env)
    assert result.returncode == 0, result.stderr
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row["contact_name"] == "'" + FORMULA
    assert row["contact_role"] == "'+44 Service Manager"

    path = tmp_path / "export.xlsx"
    result = cib("export", "--format", "xlsx", "--output", str(path), env=env)
    assert result.returncode == 0, result.stderr
    sheet = load_workbook(path)["Submissions"]
    header = [cell.value for cell in sheet[1]]
    name = sheet.cell(row=2, column=header.index("contact_name") + 1)
    assert name.value == FORMULA and name.data_type == "s"  # text, not a formula
    received = sheet.cell(row=2, column=header.index("received_at") + 1)
    assert isinstance(received.value, datetime) and received.is_date
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")


async def test_formula_cells_are_text_in_the_slack_export(slack):
    text = (
        "Offer: PbR pathfinder\nCouncil: Camden\nContact name: " + FORMULA.replace("&", "&amp;") + "\n"
        "Contact role: Head of early help\nNumber of children's centres: 12"
    )
    await slack.send.event(event_envelope(dm_event(CAMDEN, text)))
    await slack.settle()
    assert (await slack.send.command(command_form(ADMIN, "export"))).status == 200
    await slack.settle()
    [upload] = slack.api.calls_to("upload")
    content = slack.api.uploads[upload["file_id"]].decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(content)))
    assert row["contact_name"] == "'" + FORMULA
