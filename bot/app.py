"""The Slack channel: a Bolt AsyncApp whose listeners translate Slack into the core's
`Inbound` and the core's `Reply`s into messages, and decide nothing else.

    Slack --signed HTTP or Socket Mode--> listener: IntakeService.keep(payload), then ack
                                           └─ background: users.info -> IntakeService.identify
                                              -> IntakeService.process -> Outcome
                                              -> chat.postMessage (same thread / DM)
                                              -> notices to the team channel

Messages (DMs and @mentions), `/cib` questions and modal submissions are kept (the raw
payload committed to the database) before Slack is acknowledged, as email is kept before
SMTP answers 250. The sender's email needs users.info, which is not waited for: the message
is kept without a sender and `identify` adds it afterwards. If keeping fails, an event is
answered with a 5xx (Slack retries it) and a command or form with "please try again";
a Slack retry of a message already kept is acknowledged and nothing more.

Before the ack, too: inline form errors (`response_action: errors`, from
`IntakeService.check_form`, which stores nothing) and the council type-ahead options.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import aiohttp
from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.auth import BotIdentity
from bot.commands import parse_command
from bot.forms import (
    NOMINATION_CALLBACK,
    OFFER_CALLBACK,
    Prefill,
    council_options,
    form_input,
    inline_errors,
    input_block_ids,
    nobody_named,
    nomination_modal_context,
    offer_modal_context,
)
from bot.identity import Directory, Person
from bot.tasks import Background
from bot.text import plain_text
from bot.views import SlackViews, fit_message
from intake.campaign import Campaign
from intake.councils import CouncilRegister
from intake.digest import digest_for_slack
from intake.export import to_csv
from intake.messages import FormInput, Inbound, Kept, Outcome
from intake.replies import deadline_view, when
from intake.settings import Settings

log = logging.getLogger(__name__)

# Message subtypes that are a person writing; everything else (edits, deletions, joins,
# bots, replies-count updates) is not a new message for the core.
_WRITTEN = {None, "file_share", "thread_broadcast"}
_MENTION = re.compile(r"^\s*<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# A valid form we could not store: shown on the form, which stays open to be sent again.
NOT_STORED = "Sorry, this could not be stored just now. Please try submitting again."


class Service(Protocol):
    """What the bot needs from intake.service.IntakeService."""

    campaign: Campaign
    councils: CouncilRegister

    async def keep(self, inbound: Inbound) -> Kept: ...

    @property
    def arriving(self) -> bool: ...

    async def identify(
        self, inbound_id: int, *, sender: str | None, admin: bool = False, quiet: bool = False
    ) -> None: ...

    async def process(self, inbound_id: int) -> Outcome: ...

    def check_form(self, form: FormInput) -> dict[str, str]: ...

    async def export(self) -> dict[str, list[dict[str, Any]]]: ...


@dataclass(frozen=True)
class Target:
    """Where an answer goes: a channel (and thread), or the user's DM with the bot."""

    channel: str | None = None
    thread_ts: str | None = None
    dm_user: str | None = None


class _Recent:
    """A bounded set of ids seen lately (for the bot's own notes, which the core does not
    de-duplicate)."""

    def __init__(self, size: int = 2048) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first_time(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


class SlackBot:
    def __init__(
        self,
        *,
        service: Service,
        settings: Settings,
        views: SlackViews,
        client: AsyncWebClient,
        background: Background | None = None,
        poster: Poster | None = None,
    ) -> None:
        self.service = service
        self.poster = poster
        self.settings = settings
        self.views = views
        self.client = client
        self.campaign = service.campaign
        self.councils = service.councils
        self.background = background or Background(busy=lambda: service.arriving)
        # The core's clock, so deadlines shown in Slack agree with the core's answers.
        self.now = getattr(service, "clock", None) or (lambda: datetime.now(timezone.utc))
        self.directory = Directory(client)
        self.admins = {entry.strip().lower() for entry in settings.admin_slack_users if entry.strip()}
        self._recent = _Recent()
        self.undelivered = 0  # messages Slack refused (logged)
        self.identity = BotIdentity(client)
        self.app = AsyncApp(
            client=client,
            authorize=self.identity,
            signing_secret=settings.slack_signing_secret or "",
            # Listeners run before the response, so an ack is sent the moment it is called
            # and the slow part is in `self.background`, which stop() can drain.
            process_before_response=True,
            name="cib-intake",
        )
        self._register()

    # --- wiring -------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.event("message")(self.on_message)
        app.event("app_mention")(self.on_mention)
        app.event(re.compile(".*"))(self.on_other_event)
        app.command(re.compile(".*"))(self.on_command)
        app.view_submission(OFFER_CALLBACK)(self.on_form)
        app.view_submission(NOMINATION_CALLBACK)(self.on_form)
        app.block_suggestion(re.compile(".*"))(self.on_suggestion)
        app.action("open_form")(self.on_open_form)
        # Anything else Slack may send us is acknowledged and left alone, so Slack
        # neither retries it nor shows the user an error.
        app.action(re.compile(".*"))(self.on_other)
        app.shortcut(re.compile(".*"))(self.on_other)
        app.view_submission(re.compile(".*"))(self.on_other)
        app.view_closed(re.compile(".*"))(self.on_other)
        app.dialog_submission(re.compile(".*"))(self.on_other)
        app.dialog_cancellation(re.compile(".*"))(self.on_other)
        app.dialog_suggestion(re.compile(".*"))(self.on_empty_options)

    def is_admin(self, user_id: str, person: Person | None = None) -> bool:
        if user_id and user_id.lower() in self.admins:
            return True
        return bool(person and person.email and person.email.lower() in self.admins)

    # --- events -------------------------------------------------------------------------

    async def on_message(
        self, ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], context: Any
    ) -> BoltResponse | None:
        subtype = event.get("subtype")
        if event.get("channel_type") not in ("im", None) or not str(event.get("channel", "")).startswith("D"):
            await ack()
            return None  # channels: only @mentions (app_mention) are for us
        if subtype == "message_changed":
            await ack()
            self._edited(body, event)
            return None
        if subtype not in _WRITTEN or not self._from_a_person(event, context):
            await ack()
            return None  # deletions, joins, other bots (and this one): never kept, never answered
        text = plain_text(event.get("text"), bot_user_id=context.get("bot_user_id"))
        return await self._take_message(ack, body, event, text, source="dm")

    async def on_mention(
        self, ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], context: Any
    ) -> BoltResponse | None:
        channel = str(event.get("channel", ""))
        if channel.startswith("D") or event.get("subtype") or not self._from_a_person(event, context):
            await ack()
            return None  # a DM arrives as a message event too (answered there); bots never
        # The mention that woke us is the bot's, even before auth.test has told us our id.
        bot_user_id = context.get("bot_user_id") or next(iter(_MENTION.findall(event.get("text") or "")), None)
        text = plain_text(event.get("text"), bot_user_id=bot_user_id)
        return await self._take_message(ack, body, event, text, source="mention")

    async def on_other_event(self, ack: AsyncAck) -> None:
        await ack()

    @staticmethod
    def _from_a_person(event: dict[str, Any], context: Any) -> bool:
        """Written by someone, as far as the payload says: not a bot (ours or another), not
        this app's own user. users.info (which says is_bot too) is not waited for."""
        user = event.get("user")
        if not user or event.get("bot_id") or event.get("bot_profile"):
            return False
        return user != context.get("bot_user_id")

    async def _take_message(
        self, ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], text: str, *, source: str
    ) -> BoltResponse | None:
        """Keep the event, then ack; or, if it could not be kept, answer 503 so that Slack
        sends it again (an acknowledged event is never sent again)."""
        user, channel, ts = str(event["user"]), str(event.get("channel", "")), event.get("ts")
        thread_ts = event.get("thread_ts") or ts
        event_id = body.get("event_id")
        kept = await self._keep(
            user=user,
            text=text or "help",
            raw=body,
            external_id=event_id or (f"{channel}:{ts}" if ts else None),
            meta={"slack_channel": channel, "thread_ts": thread_ts, "ts": ts,
                  "slack_team": body.get("team_id"), "source": source},
        )
        if kept is None:
            return BoltResponse(status=503, body="")
        await ack()
        if not kept.duplicate:  # a retry of an event already kept: answered the first time
            self.background.spawn(
                self.answer(kept.id, user=user, target=Target(channel=channel, thread_ts=thread_ts)),
                name=f"slack-{source}-{event_id}",
            )
        return None

    def _edited(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A person edited a message they sent us: say once that edits are not applied
        (a changed submission is a new message). Edits by bots, unfurls and thread
        reply counts (same text) are not edits by a person."""
        message = event.get("message") or {}
        previous = event.get("previous_message") or {}
        user = message.get("user")
        if not user or message.get("bot_id") or message.get("subtype"):
            return
        if (message.get("text") or "") == (previous.get("text") or ""):
            return
        key = body.get("event_id") or f"{event.get('channel')}:{message.get('ts')}:{message.get('edited', {}).get('ts')}"
        if not self._recent.first_time(f"edit:{key}"):
            return
        target = Target(channel=event.get("channel"), thread_ts=message.get("thread_ts") or message.get("ts"))
        self.background.spawn(self.post(target, self.views.message("edited")), name=f"slack-edit-{key}")

    # --- /cib -------------------------------------------------------------------------

    async def on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        # Slack sends command text with &, < and > as entities, as it does a message's; the
        # core reads plain text.
        command = parse_command(plain_text(str(body.get("text") or "")), self.campaign)
        user = str(body.get("user_id") or "")
        channel = str(body.get("channel_id") or "")
        trigger_id = str(body.get("trigger_id") or "")
        if command.action == "hint":
            await ack(**self.views.message("hint", {"text": command.hint}))
            return
        if command.action == "choose_offer":
            await ack(**self.views.message("choose_offer", {"targets": self._targets()}))
            return
        if not user:
            await ack(**self.views.message("hint", {"text": "Try `/cib help`."}))
            return
        if command.action in ("offer_modal", "nomination_modal"):
            await ack()
            offer = command.offer or self.campaign.nomination.key
            self.background.spawn(
                self.open_form(trigger_id=trigger_id, user=user, target_key=offer, origin=channel),
                name=f"slack-modal-{trigger_id}",
            )
            return
        if command.action in ("digest", "export"):
            # Admins listed by user id are known at once; listed by email, the profile
            # lookup (in the background) decides. Read-only: nothing to keep.
            cached = self.directory.cached(user)
            if not self.is_admin(user, cached) and (cached is not None or not self._admins_by_email()):
                await ack(**self.views.message("not_allowed", {"command": command.action, **self._team()}))
                return
            await ack(**self._working_note(user, channel))
            work = self._digest if command.action == "digest" else self._export
            self.background.spawn(work(user, Target(dm_user=user)), name=f"slack-{command.action}-{trigger_id}")
            return
        # A question for the core, like the same words in a message: kept before the ack.
        kept = await self._keep(
            user=user,
            text=command.text,
            raw=body,
            external_id=f"command:{trigger_id}" if trigger_id else None,
            meta={"slack_channel": channel, "slack_team": body.get("team_id"), "source": "command",
                  "command": body.get("command"), "command_text": body.get("text")},
        )
        if kept is None:
            await ack(**self.views.message("failed", {"kept": False, **self._team()}))
            return
        await ack(**self._working_note(user, channel))
        if not kept.duplicate:
            self.background.spawn(self.answer(kept.id, user=user, target=Target(dm_user=user)),
                                  name=f"slack-command-{trigger_id}")

    def _admins_by_email(self) -> bool:
        return any("@" in entry for entry in self.admins)

    def _working_note(self, user: str, channel: str) -> dict[str, Any]:
        if channel and channel == self.directory.known_dm(user):
            return {}  # already in our DM: the answer appears right here
        return self.views.message("command_received")

    async def _digest(self, user: str, target: Target) -> None:
        person = await self.directory.person(user)
        if not self.is_admin(user, person):
            await self.post(target, self.views.message("not_allowed", {"command": "digest", **self._team()}))
            return
        message = await digest_for_slack(self.service, self.now(), renderer=self.views.renderer)
        await self.post(target, fit_message(message))

    async def _export(self, user: str, target: Target) -> None:
        person = await self.directory.person(user)
        if not self.is_admin(user, person):
            await self.post(target, self.views.message("not_allowed", {"command": "export", **self._team()}))
            return
        data = await self.service.export()
        content = to_csv(data)
        channel = await self.directory.dm_channel(user)
        counts = {key: len(data.get(key) or []) for key in ("submissions", "nominations", "enquiries")}
        note = self.views.message("export_ready", counts)
        stamp = self.now().strftime("%Y%m%d-%H%M")
        await self.client.files_upload_v2(
            channel=channel,
            content=content,
            filename=f"cib-submissions-{stamp}.csv",
            title=f"CIB submissions {stamp}",
            initial_comment=note["text"],
        )

    # --- modals -------------------------------------------------------------------------

    async def on_open_form(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        trigger_id = str(body.get("trigger_id") or "")
        key = str(action.get("value") or "")
        if not user or not trigger_id:
            return
        self.background.spawn(
            self.open_form(trigger_id=trigger_id, user=user, target_key=key,
                           origin=str((body.get("channel") or {}).get("id") or "")),
            name=f"slack-modal-{trigger_id}",
        )

    async def open_form(self, *, trigger_id: str, user: str, target_key: str, origin: str) -> None:
        """views.open for an offer or the nomination. The trigger is valid for 3 seconds,
        so the profile lookup used to pre-fill the form gets one of them at most."""
        try:
            person = await asyncio.wait_for(self.directory.person(user), timeout=1.0)
        except (TimeoutError, SlackApiError):
            person = Person(user)
        prefill = Prefill(email=person.email, name=person.name, council=self.councils.by_email(person.email))
        metadata = {"origin": origin}
        if target_key == self.campaign.nomination.key:
            deadline = when(self.campaign.deadline(target_key), self.campaign)
            view = self.views.modal(
                "modal_nomination",
                nomination_modal_context(self.campaign, prefill=prefill, deadline=deadline, metadata=metadata),
            )
        else:
            try:
                deadline = when(self.campaign.deadline(target_key), self.campaign)
            except KeyError:
                log.info("no offer %r to open a form for", target_key)
                return
            view = self.views.modal(
                "modal_offer",
                offer_modal_context(self.campaign, target_key, prefill=prefill, deadline=deadline, metadata=metadata),
            )
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))
            await self.post(Target(dm_user=user), self.views.message("modal_failed", {"offer": target_key}))

    async def on_suggestion(self, ack: AsyncAck, payload: dict[str, Any]) -> None:
        """The council type-ahead: fuzzy search over the register, best first."""
        await ack(options=council_options(self.councils, str(payload.get("value") or "")))

    async def on_empty_options(self, ack: AsyncAck) -> None:
        await ack(options=[])

    async def on_form(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form = form_input(view, self.campaign)
        if form is None:
            await ack()
            return
        try:
            problems = {**nobody_named(form, self.campaign), **self.service.check_form(form)}
        except Exception:
            # Ours, not theirs: take the form; the core keeps it and records the failure.
            log.exception("checking a submitted form failed")
            problems = {}
        if problems:
            await ack(response_action="errors", errors=inline_errors(problems, input_block_ids(view)))
            return
        user = str((body.get("user") or {}).get("id") or "")
        kept = await self._keep(
            user=user,
            text=None,
            form=form,
            raw=body,
            external_id=f"view:{view.get('id')}:{view.get('hash')}",
            meta={"slack_team": (body.get("team") or {}).get("id"), "source": "modal", "view_id": view.get("id")},
        )
        if kept is None:
            # The form stays open with what was typed, to be sent again.
            await ack(response_action="errors", errors=inline_errors({"": NOT_STORED}, input_block_ids(view)))
            return
        await ack()  # closes the modal
        if not kept.duplicate:  # a second click on Submit: answered the first time
            self.background.spawn(self.answer(kept.id, user=user, target=Target(dm_user=user)),
                                  name=f"slack-form-{view.get('id')}")

    async def on_other(self, ack: AsyncAck) -> None:
        await ack()

    # --- the core, and answers ------------------------------------------------------------

    async def _keep(
        self,
        *,
        user: str,
        text: str | None,
        raw: dict[str, Any],
        external_id: str | None,
        meta: dict[str, Any],
        form: FormInput | None = None,
    ) -> Kept | None:
        """Commit the payload before Slack is acknowledged; None if that failed. Who sent
        it (their email) is not known yet: `answer` adds it after the ack."""
        inbound = Inbound(
            channel="slack",
            raw=json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode(),
            sender=None,
            external_id=external_id,
            text=text,
            form=form,
            meta={**meta, "slack_user": user},
            # A team member listed by user id is known from the payload; by email, once
            # users.info has answered (identify).
            admin=self.is_admin(user),
        )
        try:
            with self.background.acking():
                return await self.service.keep(inbound)
        except Exception:
            log.exception("keeping a Slack message failed (%s)", external_id)
            return None

    async def answer(self, inbound_id: int, *, user: str, target: Target) -> Outcome | None:
        """After the ack: who sent the kept message (users.info), then the core, which
        records its replies and team notices in the outbox; then those are posted."""
        try:
            person = await self.directory.person(user)
        except Exception as error:  # the Web API unreachable: the sender stays unknown
            log.warning("users.info for %s failed: %r", user, error)
            person = Person(user)
        try:
            await self.background.after_acks()
            # A bot the payload did not show as one is never answered (no loops).
            await self.service.identify(
                inbound_id, sender=person.email, admin=self.is_admin(user, person), quiet=person.is_bot
            )
            await self.background.after_acks()
            outcome = await self.service.process(inbound_id)
        except Exception:
            # Kept, so not lost: processed again at the next start or by `cib replay`.
            log.exception("processing Slack message %s failed", inbound_id)
            outcome = Outcome(inbound_id, "failed")
        await self.background.after_acks()
        if outcome.duplicate:
            return outcome  # a retry or a second click: answered the first time
        if outcome.classification == "failed" and not person.is_bot:
            await self.post(target, self.views.message("failed", {"kept": True, **self._team()}))
        await self.send_recorded(inbound_id)
        return outcome

    async def send_recorded(self, inbound_id: int) -> None:
        """Post now what the core recorded for this message (what fails is tried again
        later by the outbox's own worker)."""
        if self.poster is None:
            return
        try:
            sent = await self.poster.settle(inbound_id)
        except Exception:  # noqa: BLE001 - recorded, so the outbox worker posts it later
            log.exception("posting the answers to Slack message %s failed", inbound_id)
            return
        self.undelivered += sent.failed

    async def post(self, target: Target, message: dict[str, Any]) -> None:
        """Post a message. Slack refusing it (the user gone, the bot not in the channel) is
        logged, not raised: the message itself is already kept by the core."""
        try:
            channel = target.channel
            if target.dm_user:
                channel = await self.directory.dm_channel(target.dm_user)
            if not channel:
                return
            await self.client.chat_postMessage(
                channel=channel,
                thread_ts=target.thread_ts,
                text=message.get("text") or " ",
                blocks=message.get("blocks"),
                # Nothing anyone wrote may unfurl into a preview.
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            self.undelivered += 1
            log.warning(
                "Slack refused a message to %s: %s",
                target.channel or target.dm_user, error.response.get("error"),
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            self.undelivered += 1
            log.warning("could not reach Slack to post to %s: %r", target.channel or target.dm_user, error)

    # --- small views ----------------------------------------------------------------------

    def _team(self) -> dict[str, Any]:
        return {"team_name": self.campaign.campaign.team_name}

    def _targets(self) -> list[dict[str, Any]]:
        now = self.now()
        return [deadline_view(target, self.campaign, now) for target in self.campaign.targets()]
