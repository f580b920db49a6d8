"""Plays a planned campaign through a running service, day by simulated day, at its real
boundaries: councils' mail over SMTP (through the border server's Authentication-Results),
Slack messages and modals as signed requests, the CIB team in the workspace over HTTP (a
signed-in cookie jar), with the Slack buttons and with the `cib` CLI in a subprocess, and
the scheduled jobs at their moments. After each day it checks everything (checks.py)."""
from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib

from intake.runtime.composition import Runtime
from intake.jobs import send_digest, send_due_reminders
from tests.conftest import Clock, Relay
from tests.mailer import stamp
from tests.rehearsal import shapes
from tests.rehearsal.plan import DECISIONS, Plan, Step
from tests.team_browser import Page, TeamBrowser

LONDON = ZoneInfo("Europe/London")
log = logging.getLogger("rehearsal")


@dataclass
class Team:
    """How the team's actions reach the service: the workspace, Slack and the CLI."""

    browser: TeamBrowser
    slack: Any | None = None  # tests.slack_support: (api, sender, admin user id), or None
    cli: Callable[..., Awaitable[subprocess.CompletedProcess[str]]] | None = None


@dataclass
class Log:
    """What the rehearsal did and saw, for its assertions and its report."""

    sent: Counter[str] = field(default_factory=Counter)
    team: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)  # actions the service refused, as it should
    seconds: dict[str, float] = field(default_factory=dict)
    checked_days: int = 0
    pages: int = 0


class Rehearsal:
    def __init__(self, runtime: Runtime, relay: Relay, clock: Clock, plan: Plan, team: Team, *,
                 check: Callable[[Rehearsal, date, bool], Awaitable[Any]] | None = None,
                 check_days: Callable[[date], bool] = lambda day: True) -> None:
        self.runtime, self.relay, self.clock, self.plan, self.team = runtime, relay, clock, plan, team
        self.check, self.check_days = check, check_days
        self.log = Log()
        self.campaign = runtime.service.campaign
        self.crawls: list[Any] = []
        self.turn = 0  # which way the team's next action goes (web, Slack, CLI), in turn
        self.cli_budget = 8  # the CLI runs a few actions (each is a process start, about a second)
        self.digest_counts: Counter[str] = Counter()  # each offer's figure when the day's digest went

    # --- time -----------------------------------------------------------------------------

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        self.clock.set(datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON))
        return self.clock()

    async def settle(self) -> None:
        await self.runtime.queue.drain()
        if self.runtime.slack is not None:
            assert await self.runtime.slack.drain(30), "the Slack bot's background work did not finish"
            await self.runtime.slack_poster.flush()
        await self.runtime.delivery.flush()

    # --- the campaign -----------------------------------------------------------------------

    async def run(self) -> Log:
        began = time.perf_counter()
        for day in self.plan.days():
            await self.day(day)
        self.log.seconds["whole rehearsal"] = time.perf_counter() - began
        return self.log

    async def day(self, day: date) -> None:
        await send_digest(self.runtime.jobs, now=self.at(day, 8, 30))
        data = await self.runtime.service.export()
        self.digest_counts = Counter(s["offer"] for s in data["submissions"] if s["status"] == "active")
        await send_due_reminders(self.runtime.jobs, now=self.at(day, 9))
        await self.settle()
        steps = self.plan.on(day)
        for step in steps:
            await self.play(step, self.at(day, step.hour))
        await self.settle()
        self.at(day, 17)
        acted = self.actions()
        await self.work(day)
        await self.settle()
        # A day on which nothing arrived and the team changed nothing changes no page but
        # those that show the time: the check reads those and the invariants, not every page.
        quiet = not steps and self.actions() == acted
        if self.check is not None and self.check_days(day):
            began = time.perf_counter()
            await self.check(self, day, quiet)
            self.log.seconds["checks"] = self.log.seconds.get("checks", 0) + time.perf_counter() - began
            self.log.checked_days += 1

    def actions(self) -> int:
        """How many changes the team has made so far (signing in changes nothing)."""
        return sum(n for what, n in self.log.team.items() if what != "sign in (web)")

    # --- councils ---------------------------------------------------------------------------

    async def smtp(self, raw: bytes, *, mail_from: str, result: str | None = "pass") -> int:
        if result is not None:
            raw = stamp(raw, result)
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=self.runtime.smtp_port, timeout=30)
        await client.connect()
        try:
            await client.mail(mail_from)
            await client.rcpt(shapes.INTAKE)
            try:
                response = await client.data(raw)
            except aiosmtplib.SMTPResponseException as error:
                return error.code
            return response.code
        finally:
            await client.quit()

    async def play(self, step: Step, now: datetime) -> None:
        self.log.sent[step.what if step.what != "entry" else f"entry:{step.shape}"] += 1
        person = step.person
        assert person is not None
        if step.what in ("entry", "late_entry", "free_mail"):
            if step.shape == "slack_modal":
                await self.modal(step)
            elif step.shape == "slack_message":
                await self.slack_message(step)
            else:
                code = await self.smtp(shapes.entry(step, self.campaign, now), mail_from=person.email)
                assert code == 250, (step, code)
        elif step.what == "complete":
            missing = [m for m in self.relay.to(person.email) if "missing" in str(m["Subject"]).lower()
                       or "more" in str(m["Subject"]).lower()]
            asked = missing[-1] if missing else self.relay.to(person.email)[-1]
            quoted = asked.get_body(("plain",)).get_content()
            raw = shapes.complete(step, now, in_reply_to=str(asked["Message-ID"]), subject=str(asked["Subject"]),
                                  quoted=quoted)
            assert await self.smtp(raw, mail_from=person.email) == 250
        elif step.what in ("amend", "forged_amend", "withdraw"):
            reference = await self.reference_of(step)
            if reference is None:
                self.log.sent["nothing to change"] += 1
                return
            if step.what == "withdraw":
                raw = shapes.withdraw(step, reference, now)
            else:
                raw = shapes.amend(step, reference, now)
            result = "fail" if step.what == "forged_amend" else "pass"
            if step.what == "forged_amend":  # the forger writes as the council's own officer
                raw = raw.replace(person.email.encode(), (await self.contact_of(reference)).encode())
            assert await self.smtp(raw, mail_from=person.email, result=result) == 250
        elif step.what in ("question", "query"):
            subject = "A question" if step.what == "question" else step.text
            raw = shapes.plain(person, subject, step.text, now)
            assert await self.smtp(raw, mail_from=person.email) == 250
        elif step.what == "nomination":
            assert await self.smtp(shapes.nomination(step, now), mail_from=person.email) == 250
        elif step.what == "out_of_office":
            reminded = self.relay.messages[-1]["Subject"] if self.relay.messages else "Reminder"
            raw = shapes.out_of_office(person, now, str(reminded))
            assert await self.smtp(raw, mail_from=person.email) == 250
        elif step.what == "bounce":
            reminders = [m for m in self.relay.messages if "Reminder" in str(m["Subject"])]
            target = str(reminders[-1]["To"]) if reminders else person.email
            raw = shapes.bounce(target, now, subject=str(reminders[-1]["Subject"]) if reminders else "Reminder")
            assert await self.smtp(raw, mail_from="", result=None) == 250
        else:
            raise AssertionError(f"no way to play {step.what}")

    async def reference_of(self, step: Step) -> str | None:
        data = await self.runtime.service.export()
        for row in data["submissions"]:
            if row["council_code"] == step.council.code and row["offer"] == step.offer and row["status"] == "active":
                return row["reference"]
        return None

    async def contact_of(self, reference: str) -> str:
        data = await self.runtime.service.export()
        return next(r["contact_email"] for r in data["submissions"] if r["reference"] == reference)

    async def slack_message(self, step: Step) -> None:
        from slack_support.signing import dm_event, event_envelope

        api, sender, _ = self.team.slack
        user = self.slack_user(step)
        answer = await sender.event(event_envelope(dm_event(user, shapes.message_text(step, self.campaign))))
        assert answer.status == 200, answer

    async def modal(self, step: Step) -> None:
        from slack_support.signing import command_form, view_submission

        api, sender, _ = self.team.slack
        user = self.slack_user(step)
        before = len(api.calls_to("views.open"))
        offer = self.campaign.offer(step.offer)
        answer = await sender.command(command_form(user, f"eoi {offer.key}"))
        assert answer.status == 200, answer
        await api.wait_for("views.open", before + 1, timeout=10)
        view = api.calls_to("views.open")[before].args["view"]
        values: dict[str, Any] = {}
        for spec in self.campaign.fields_for(offer):
            value = step.fields.get(spec.title)
            if value is None or spec.type == "council":
                continue
            if spec.type == "councils":
                values[spec.key] = [c.code for c in self.runtime.service.councils.mentioned(value)]
            else:
                values[spec.key] = value
        submitted = await sender.interaction(view_submission(user, view, values))
        assert submitted.status == 200 and "errors" not in submitted.text, submitted.text

    def slack_user(self, step: Step) -> str:
        return next(user for user, person in self.plan.slack_users.items() if person == step.person)

    # --- the team ---------------------------------------------------------------------------

    async def page(self, path: str) -> Page:
        page = await self.team.browser.get(path)
        assert page.status == 200, (path, page.status, page.text[:500])
        return page

    async def post(self, page: Page, action: str, **fields: str) -> Page:
        answer = await self.team.browser.submit(page, action, **fields)
        assert answer.status in (200, 400, 409), (action, answer.status, answer.text[:500])
        return answer

    async def work(self, day: date) -> None:
        """A day's work for the team: what needs a person, and the decisions at the end."""
        if (await self.team.browser.get("/team/", follow=False)).status != 200:
            await self.team.browser.sign_in(self.runtime, self.relay)  # yesterday's session has ended
            self.log.team["sign in (web)"] += 1
        data = await self.runtime.service.export()
        unverified = [r for r in data["submissions"] if not r["verified"] and r["status"] == "active"]
        for row in unverified:
            genuine = row["sender"] in self.plan.genuine_free_mail
            way = self.next_way()
            await self.verify_or_reject(row["reference"], genuine, way=way)
            [now] = (await self.runtime.service.records_of(row["reference"]))["submissions"]
            assert (now["verified"] if genuine else now["status"] == "rejected"), (way, genuine, now)
        for row in data["nominations"]:
            if not row["verified"]:
                await self.verify_or_reject(row["reference"], True, way="web")
        await self.answer_enquiries()
        await self.take_late_entries(data)
        if day == DECISIONS:
            await self.decide(data)

    def next_way(self) -> str:
        """Web, Slack and the CLI in turn (the CLI while its budget lasts)."""
        self.turn += 1
        way = ("slack", "cli", "web")[self.turn % 3]
        if way == "cli":
            if self.team.cli is None or self.cli_budget <= 0:
                return "web"
            self.cli_budget -= 1
        if way == "slack" and self.team.slack is None:
            return "web"
        return way

    async def verify_or_reject(self, reference: str, genuine: bool, *, way: str) -> None:
        if way == "cli":
            args = ("verify", reference) if genuine else ("reject", reference, "--reason",
                                                          "This was not sent by the council.")
            result = await self.team.cli(*args, "--as", "cli@local.gov.uk")
            assert result.returncode == 0, result.stderr
            self.log.team[f"{args[0]} (cli)"] += 1
            return
        if way == "slack" and self.team.slack is not None and genuine:
            if await self.click_verify(reference):
                return
        entry = await self.page(f"/team/entries/{reference}")
        if genuine:
            await self.post(entry, f"/team/entries/{reference}/verify")
            self.log.team["verify (web)"] += 1
        else:
            # First without a reason, as people do: refused, with the error on the field.
            refused = await self.post(entry, f"/team/entries/{reference}/reject")
            assert "reason" in refused.text.lower(), refused.text[:500]
            self.log.refused.append(f"reject {reference} without a reason")
            entry = await self.page(f"/team/entries/{reference}")
            await self.post(entry, f"/team/entries/{reference}/reject", reason="This was not sent by the council.")
            self.log.team["reject (web)"] += 1

    async def click_verify(self, reference: str) -> bool:
        """Verify with the button on the team's Slack notice about the entry, if there is one."""
        api, sender, admin = self.team.slack
        from slack_support.signing import new_ts

        for notice in reversed(api.calls_to("chat.postMessage")):
            blocks = notice.args.get("blocks") or []
            for block in blocks:
                if block.get("type") == "actions" and block.get("block_id") == f"team:{reference}":
                    [button] = [e for e in block["elements"] if e["action_id"] == "team_verify"]
                    ts = new_ts()
                    payload = {
                        "type": "block_actions", "user": {"id": admin, "username": "amy", "team_id": "T111"},
                        "api_app_id": "A111", "token": "verification-token",
                        "container": {"type": "message", "message_ts": ts, "channel_id": notice.args["channel"],
                                      "is_ephemeral": False},
                        "trigger_id": f"{ts}.111.team", "team": {"id": "T111", "domain": "cib-test"},
                        "channel": {"id": notice.args["channel"], "name": "cib-team"},
                        "message": {"type": "message", "ts": ts, "text": notice.args.get("text", ""),
                                    "blocks": blocks},
                        "response_url": "",
                        "actions": [{"action_id": "team_verify", "block_id": block["block_id"],
                                     "value": button["value"], "type": "button", "action_ts": new_ts(),
                                     "text": button["text"]}],
                    }
                    answer = await sender.interaction(payload)
                    assert answer.status == 200, answer
                    await self.settle()
                    self.log.team["verify (slack button)"] += 1
                    return True
        return False

    async def answer_enquiries(self) -> None:
        needs = await self.page("/team/needs")
        for form in needs.soup.find_all("form", action=True):
            action = str(form["action"])
            if action.endswith("/answer"):
                await self.post(needs, action, answer="Thank you for asking. Yes: the team will be in touch "
                                                      "with the details this week.")
                self.log.team["answer (web)"] += 1
                needs = await self.page("/team/needs")

    async def take_late_entries(self, data: dict[str, Any]) -> None:
        late = [r for r in data["submissions"] if r["late"] and r["status"] == "active"]
        accepted = {s.council.code for s in self.plan.late[:1]}
        for row in late:
            needs = await self.page("/team/needs")
            action = f"/team/entries/{row['reference']}/accept-late"
            if row["council_code"] in accepted and needs.soup.find("form", action=action) is not None:
                await self.post(needs, action)
                self.log.team["accept late (web)"] += 1

    async def decide(self, data: dict[str, Any]) -> None:
        """The places: PbR accepted in the order received up to its capacity, then wait-listed
        (a 31st acceptance refused); the other offers accepted."""
        rows = sorted((r for r in data["submissions"] if r["status"] == "active" and r["verified"]
                       and not r["decision"]), key=lambda r: r["received_at"])
        capacity = {o.key: o.capacity for o in self.campaign.offers}
        accepted: Counter[str] = Counter(r["offer"] for r in data["submissions"] if r["decision"] == "accepted")
        for n, row in enumerate(rows):
            cap = capacity[row["offer"]]
            if row["late"] and not row.get("late_accepted", True):
                continue
            full = cap is not None and accepted[row["offer"]] >= cap
            choice = "accept" if not full else "waitlist"
            if full and not any("31st" in r for r in self.log.refused):
                await self.refused_acceptance(row["reference"])
            way = self.next_way()
            if way == "cli":
                result = await self.team.cli("decide", row["reference"], choice, "--as", "cli@local.gov.uk")
                assert result.returncode == 0, result.stderr
            elif way == "slack":
                await self.slash(f"decide {row['reference']} {choice}")
            else:
                entry = await self.page(f"/team/entries/{row['reference']}")
                await self.post(entry, f"/team/entries/{row['reference']}/decide", decision=choice)
            [now] = (await self.runtime.service.records_of(row["reference"]))["submissions"]
            assert now["decision"] == {"accept": "accepted", "waitlist": "waitlisted"}[choice], (way, now)
            self.log.team[f"{choice} ({way})"] += 1
            if choice == "accept":
                accepted[row["offer"]] += 1

    async def slash(self, text: str) -> None:
        """A team member's `/cib ...` in Slack."""
        from slack_support.signing import command_form

        api, sender, admin = self.team.slack
        answer = await sender.command(command_form(admin, text, channel="C0CIBTEAM"))
        assert answer.status == 200, answer
        await self.settle()

    async def refused_acceptance(self, reference: str) -> None:
        """One acceptance past the places, from the workspace: refused, nothing changes."""
        entry = await self.page(f"/team/entries/{reference}")
        answer = await self.post(entry, f"/team/entries/{reference}/decide", decision="accept")
        assert "Decline or waitlist one first" in answer.text, answer.text[:600]
        [row] = [r for r in (await self.runtime.service.export())["submissions"] if r["reference"] == reference]
        assert row["decision"] != "accepted", row
        self.log.refused.append(f"31st acceptance of {reference}")


async def cli_runner(runtime: Runtime, relay: Relay) -> Callable[..., Awaitable[subprocess.CompletedProcess[str]]]:
    """`cib ...` in a subprocess against the running service's database and the test relay."""
    async def cib(*args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CIB_", "SLACK_"))}
        env.update(
            CIB_DATABASE_URL=runtime.settings.database_url, CIB_RELAY_HOST="127.0.0.1",
            CIB_RELAY_PORT=str(relay.port), CIB_FROM_ADDRESS="CIB intake <eoi@cib.test>",
            CIB_INTAKE_ADDRESSES="eoi@cib.test", COLUMNS="200",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "intake", *args, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        return subprocess.CompletedProcess(args, process.returncode or 0, out.decode(), err.decode())

    return cib

