"""A whole campaign, rehearsed: every council in the register, two thirds of them answering
by email (label lines, Outlook HTML, letters, Word, PDF and Excel forms) and by Slack
(messages and modals), the regions naming their leads, questions, mistakes, forgeries,
automatic mail and late entries; the CIB team working each day in the workspace, with the
Slack buttons and with the CLI; reminders and digests at their moments. After every
simulated day the whole workspace is crawled and the invariants checked
(tests/rehearsal/checks.py). benchmarks/campaign.py runs the same at ten times the size."""
from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Callable
from typing import Any

from intake.runtime.composition import create_service
from intake.runtime.settings import Settings
from slack_support.harness import ADMIN, make_api, slack_settings
from slack_support.signing import SlackSender
from tests.conftest import Clock, Relay
from tests.accessibility import axe_violations, chromium, describe, nu_errors
from tests.rehearsal.checks import check_day, offer_counts
from tests.rehearsal.crawl import kind_of
from tests.rehearsal.driver import Rehearsal, Team, cli_runner
from tests.rehearsal.plan import plan_campaign
from tests.team_browser import TeamBrowser


async def test_a_whole_campaign_from_launch_to_decisions(settings_factory: Callable[..., Settings], clock: Clock,
                                                        relay: Relay) -> None:
    api = make_api()
    probe = create_service(settings_factory(), clock=clock)
    plan = plan_campaign(probe.service.campaign, probe.service.councils)
    for user, person in plan.slack_users.items():
        api.add_user(user, person.email, name=person.name)
    await api.start()
    runtime = create_service(slack_settings(settings_factory, api), clock=clock)
    await runtime.start(smtp=True, slack=True, scheduler=False)
    try:
        async with TeamBrowser(runtime) as browser, SlackSender(runtime.slack.url) as sender:
            clock.set("2027-05-04T07:00:00+01:00")
            await browser.sign_in(runtime, relay)
            team = Team(browser, slack=(api, sender, ADMIN), cli=await cli_runner(runtime, relay))
            rehearsal = Rehearsal(runtime, relay, clock, plan, team, check=check_day)
            log = await rehearsal.run()
            outcome_of(plan, await runtime.service.export())
            await the_cli_agrees(rehearsal, team)
            checked = await pages_and_mail_are_accessible(rehearsal, browser)
    finally:
        await runtime.stop()
        await api.stop()
    print(log, checked)
    assert log.checked_days == len(plan.days())
    assert log.team["verify (slack button)"] and log.team["verify (cli)"] + log.team["reject (cli)"]
    assert any("31st" in r for r in log.refused)


def outcome_of(plan, data: dict[str, Any]) -> None:
    """What the campaign must have come to, whatever the days in between."""
    active = {(s["council_code"], s["offer"]): s for s in data["submissions"] if s["status"] == "active"}
    withdrawn = {(s.council.code, s.offer) for s in plan.steps if s.what == "withdraw"}
    for step in plan.steps:
        if step.what == "entry" and (step.council.code, step.offer) not in withdrawn:
            assert (step.council.code, step.offer) in active, (step.shape, step.council.name, step.offer)
    for step in plan.steps:
        if step.what == "withdraw":
            assert (step.council.code, step.offer) not in active, step
    # A forged change changed nothing; an impostor's entry was rejected, an officer's verified.
    assert not [s for s in data["submissions"] if "mallory" in s["contact_email"]]
    for step in plan.steps:
        if step.what == "free_mail":
            [entry] = [s for s in data["submissions"] if s["sender"] == step.person.email]
            assert entry["verified"] if step.person.email in plan.genuine_free_mail else entry["status"] == "rejected"
    # Every region named its three leads; the replaced lead member is the newer one.
    current = {(n["region"], n["role"]): n["name"] for n in data["nominations"]}
    assert len(current) == 27, sorted(current)
    assert any("Replacement" in name for name in current.values())
    # Late entries are marked late; the places: 30 PbR accepted, the rest on the waiting list.
    for step in plan.late:
        assert active[(step.council.code, step.offer)]["late"]
    pbr = [s for s in active.values() if s["offer"] == "pbr-pathfinder" and s["verified"]]
    assert sum(s["decision"] == "accepted" for s in pbr) == 30
    assert all(s["decision"] in ("accepted", "waitlisted") or s["late"] for s in pbr)


async def pages_and_mail_are_accessible(rehearsal: Rehearsal, browser: TeamBrowser) -> dict[str, int]:
    """The Nu HTML checker over every page of the last full crawl and every HTML email the
    campaign sent; axe-core in Chromium over one page of each kind, with the campaign's data."""
    pages = next(c.pages for c in reversed(rehearsal.crawls) if len(c.pages) > 2)
    mail = {f"email {n} {m['Subject']}": part.get_content() for n, m in enumerate(rehearsal.relay.messages)
            if (part := m.get_body(("html",))) is not None}
    found = nu_errors({**pages, **mail})
    wrong = {name: errors for name, errors in found.items() if errors}
    assert not wrong, "\n".join(f"{name}: {errors[:3]}" for name, errors in list(wrong.items())[:10])
    one_of_each = {kind_of(url): url for url in pages}
    session = browser.cookie("cib_team_session")

    def axe_each() -> None:  # Selenium blocks: it runs in a thread while the service answers
        driver = chromium(javascript=True)
        try:
            driver.get(browser.base + "/team/sign-in")
            driver.add_cookie({"name": "cib_team_session", "value": session.value, "path": "/team/"})
            for kind, url in sorted(one_of_each.items()):
                driver.get(url)
                violations = axe_violations(driver)
                assert not violations, f"{kind} {url}:\n{describe(violations)}"
        finally:
            driver.quit()

    await asyncio.to_thread(axe_each)
    return {"nu pages": len(pages), "nu emails": len(mail), "axe pages": len(one_of_each)}


async def the_cli_agrees(rehearsal: Rehearsal, team: Team) -> None:
    """`cib export` counts what the overview counts, and `cib leads` gives Appendix A in
    each of its formats with every region's three leads."""
    exported = await team.cli("export", "--format", "json")
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert offer_counts(data) == offer_counts(await rehearsal.runtime.service.export())
    overview = (await team.browser.get("/team/")).html
    for offer, count in offer_counts(data).items():
        shown = re.search(r"entries\?offer=" + re.escape(offer) + r'[^>]*>[^<]*</a></th>\s*<td class="num">(\d+)',
                          overview)
        assert shown and int(shown.group(1)) == count, (offer, count)
    nominees = {n["name"] for n in data["nominations"]}
    for fmt in ("md", "html", "csv"):
        leads = await team.cli("leads", "--format", fmt)
        assert leads.returncode == 0, leads.stderr
        text = html.unescape(leads.stdout) if fmt == "html" else leads.stdout
        missing = [name for name in nominees if name not in text.replace("\\", "")]
        assert not missing, (fmt, missing)
