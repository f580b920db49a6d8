"""Appendix A: the regional leads as html, csv and markdown."""
from __future__ import annotations

import csv
import io

from intake.reports.appendix_a import appendix_a, render, to_markdown
from tests.campaign_seed import flush, nominate


async def test_appendix_a_lists_every_region_and_role(runtime, clock):
    await nominate(runtime, "London", {"Lead member": "Cllr Ann Jones, Camden, ann.jones@camden.gov.uk",
                                       "Lead DCS": "Tom Brown, Hackney, tom.brown@hackney.gov.uk"},
                   sender="ann.jones@camden.gov.uk")
    rows = await appendix_a(runtime.service)
    assert len(rows) == 27
    assert {"region": "London", "role": "Lead member", "name": "Cllr Ann Jones", "council": "London Borough of Camden", "note": ""} in rows
    table = list(csv.reader(io.StringIO(await render(runtime.service, "csv", renderer=runtime.renderer, now=clock()))))
    assert table[0] == ["Region", "Role", "Name", "Council", "Note"] and len(table) == 28
    md = await render(runtime.service, "md", renderer=runtime.renderer, now=clock())
    assert "| London | Lead member | Cllr Ann Jones | London Borough of Camden |" in md
    html = await render(runtime.service, "html", renderer=runtime.renderer, now=clock())
    assert "2 of 27 roles named" in html and "Tom Brown" in html and "not yet named" in html
    await flush(runtime)


def test_markdown_cells_cannot_break_the_table():
    md = to_markdown([{"region": "London", "role": "Lead member", "name": "A | B\nC", "council": ""}])
    assert "| London | Lead member | A \\| B C | — |" in md
