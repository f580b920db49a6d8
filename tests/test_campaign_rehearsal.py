"""A whole campaign, rehearsed: every council in the register, two thirds of them answering
by email (label lines, Outlook HTML, letters, Word, PDF and Excel forms) and by Slack
(messages and modals), the regions naming their leads, questions, mistakes, forgeries,
automatic mail and late entries; the CIB team working each day in the workspace, with the
Slack buttons and with the CLI; reminders and digests at their moments. After every
simulated day the whole workspace is crawled and the invariants checked
(tests/rehearsal/checks.py). benchmarks/campaign.py runs the same at ten times the size."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from intake.app import create_service
from intake.settings import Settings
from slack_support.harness import ADMIN, TEAM_CHANNEL, make_api, slack_settings
from slack_support.signing import SlackSender
from tests.conftest import Clock, Relay
from tests.rehearsal.checks import check_day
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
    finally:
        await runtime.stop()
        await api.stop()
    print(log)
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
