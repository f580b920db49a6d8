"""Build the digest for a plausible morning of the campaign (Wednesday 26 May 2027) on a
temporary database and write it as HTML, for docs/digest.png:

    python docs/digest_example.py /tmp/digest.html
    chromium --headless --no-sandbox --disable-gpu --screenshot=docs/digest.png \
        --window-size=420,1600 file:///tmp/digest.html
"""
from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.runtime.composition import create_service  # noqa: E402
from intake.schedule import send_digest  # noqa: E402
from intake.runtime.settings import Settings  # noqa: E402
from tests.campaign_seed import receive, nominate, submit  # noqa: E402

LONDON = ZoneInfo("Europe/London")


async def main(target: Path) -> None:
    now = [datetime(2027, 5, 17, 10, 0, tzinfo=LONDON)]
    with tempfile.TemporaryDirectory() as tmp:
        runtime = create_service(
            Settings(database_url=f"sqlite+aiosqlite:///{tmp}/cib.sqlite3", outbox_dir=Path(tmp) / "outbox",
                     intake_addresses=["eoi@cib.test"], team_emails=["cib-team@local.gov.uk"]),
            clock=lambda: now[0],
        )
        await runtime.start(smtp=False, slack=False, scheduler=False)
        earlier = [
            ("pbr-pathfinder", "Camden", "jane.smith@camden.gov.uk"),
            ("pbr-pathfinder", "Leeds", "sam.ali@leeds.gov.uk"),
            ("children-centres-support", "Leeds", "sam.ali@leeds.gov.uk"),
            ("pbr-pathfinder", "Kent", "early.help@kent.gov.uk"),
            ("early-adopter", "Hackney", "dcs@hackney.gov.uk"),
            ("pbr-pathfinder", "Cornwall", "children@cornwall.gov.uk"),
            ("children-centres-support", "Norfolk", "ccs@norfolk.gov.uk"),
            ("pbr-pathfinder", "Manchester", "eh@manchester.gov.uk"),
            ("early-adopter", "Nottingham", "dcs@nottinghamcity.gov.uk"),
            ("pbr-pathfinder", "Sheffield", "eh@sheffield.gov.uk"),
            ("pbr-pathfinder", "Birmingham", "eh@birmingham.gov.uk"),
            ("children-centres-support", "Gateshead", "ccs@gateshead.gov.uk"),
            ("pbr-pathfinder", "Bristol", "eh@bristol.gov.uk"),
            ("early-adopter", "Islington", "dcs@islington.gov.uk"),
        ]
        for offer, council, sender in earlier:
            await submit(runtime, offer, council, sender=sender)
            now[0] += timedelta(hours=5)
        await nominate(runtime, "London", {"Lead member": "Cllr Ann Jones, Camden, ann.jones@camden.gov.uk", "Lead DCS": "Tom Brown, Hackney, tom.brown@hackney.gov.uk"},
                       sender="ann.jones@camden.gov.uk")
        await nominate(runtime, "North East", {"Lead member": "Cllr Pat Reed, Gateshead, pat.reed@gateshead.gov.uk", "Lead chief executive": "Sheena Ramsey, Gateshead, ce@gateshead.gov.uk",
                                               "Lead DCS": "Caroline O'Neill, Gateshead, dcs@gateshead.gov.uk"}, sender="ce@gateshead.gov.uk")
        now[0] = datetime(2027, 5, 25, 10, 0, tzinfo=LONDON)
        for offer, council, sender in [
            ("pbr-pathfinder", "Wigan", "eh@wigan.gov.uk"),
            ("children-centres-support", "Devon", "ccs@devon.gov.uk"),
            ("pbr-pathfinder", "Luton", "someone@gmail.com"),
            ("early-adopter", "Surrey", "dcs@surreycc.gov.uk"),
        ]:
            await submit(runtime, offer, council, sender=sender)
            now[0] += timedelta(hours=1)
        await nominate(runtime, "West Midlands", {"Lead DCS": "Andy Couldrick, Birmingham, dcs@birmingham.gov.uk"}, sender="eh@birmingham.gov.uk")
        await receive(runtime, "Hello, will there be a webinar about the programme for new lead members? "
                      "Several of our members would like to join. Thanks, Priya",
                      sender="priya.shah@essex.gov.uk", subject="Webinar?")
        report = await send_digest(runtime, now=datetime(2027, 5, 26, 8, 30, tzinfo=LONDON), dry_run=True)
        await runtime.stop()
    target.write_text(report.html or "", encoding="utf-8")
    print(f"wrote {target}: {report.text.splitlines()[0] if report.text else ''}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "digest.html")))
