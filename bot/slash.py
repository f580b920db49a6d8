"""The `/cib` slash command: bot.commands says what the text asks for; this answers it.

  - a hint, or the offers to choose a form from: in the ack itself;
  - a form (`/cib eoi <offer>`, `/cib nominate`): acked, then opened (bot.modals);
  - `digest` and `export`, for the CIB team: acked, then done in the background; they only
    read, so nothing is kept;
  - `verify`, `reject`, `decide` and `audit`, the CIB team's actions on an entry:
    bot.team_actions;
  - anything else (help, deadlines, status, ...) is a question for the core, like the same
    words in a DM: kept, then acked (bot.keep_then_ack), then answered by DM (bot.answers).
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.answers import answer, post
from bot.commands import parse_command
from bot.context import SlackContext, Target
from bot.keep_then_ack import ToKeep, ask_again, keep_then_ack
from bot.modals import open_form
from bot.team_actions import TeamActions
from bot.mrkdwn import plain_text
from bot.slack_views import SlackViews
from intake.reports.export import to_csv
from intake.jobs.digest_job import Source, build_digest
from intake.reports.reply_data import deadline_view
from intake.runtime.settings import DEFAULT_TEMPLATES_DIR


class SlashCommands:
    def __init__(self, ctx: SlackContext, team: TeamActions | None = None) -> None:
        self.ctx = ctx
        self.team = team or TeamActions(ctx, None)

    def register(self, app: AsyncApp) -> None:
        app.command(re.compile(".*"))(self.on_command)

    async def on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        ctx = self.ctx
        # Slack sends command text with &, < and > as entities, as it does a message's; the
        # core reads plain text.
        command = parse_command(plain_text(str(body.get("text") or "")), ctx.campaign)
        user = str(body.get("user_id") or "")
        channel = str(body.get("channel_id") or "")
        trigger_id = str(body.get("trigger_id") or "")
        if command.action == "hint":
            await ack(**ctx.views.message("hint", {"text": command.hint}))
            return
        if command.action == "choose_offer":
            await ack(**ctx.views.message("choose_offer", {"targets": self._targets()}))
            return
        if not user:
            await ack(**ctx.views.message("hint", {"text": "Try `/cib help`."}))
            return
        if command.action in ("offer_modal", "nomination_modal"):
            await ack()
            offer = command.offer or ctx.campaign.nomination.key
            ctx.background.spawn(
                open_form(ctx, trigger_id=trigger_id, user=user, target_key=offer, origin=channel),
                name=f"slack-modal-{trigger_id}",
            )
            return
        if command.action == "team":
            await self.team.on_command(ack, body, command)
            return
        if command.action in ("digest", "export"):
            # Admins listed by user id are known at once; listed by email, the profile
            # lookup (in the background) decides. Read-only: nothing to keep.
            cached = ctx.directory.cached(user)
            if not ctx.is_admin(user, cached) and (cached is not None or not self._admins_by_email()):
                await ack(**ctx.views.message("not_allowed", {"command": command.action, **ctx.team()}))
                return
            await ack(**self._working_note(user, channel))
            work = self._digest if command.action == "digest" else self._export
            ctx.background.spawn(work(user, Target(dm_user=user)), name=f"slack-{command.action}-{trigger_id}")
            return
        # A question for the core, like the same words in a message: kept before the ack.
        request = ToKeep(
            user=user,
            text=command.text,
            raw=body,
            external_id=f"command:{trigger_id}" if trigger_id else None,
            meta={"slack_channel": channel, "slack_team": body.get("team_id"), "source": "command",
                  "command": body.get("command"), "command_text": body.get("text")},
        )
        await keep_then_ack(
            ctx,
            request,
            ack=lambda: ack(**self._working_note(user, channel)),
            not_kept=partial(ask_again, ctx, ack),
            answer=partial(answer, ctx, user=user, target=Target(dm_user=user)),
            name=f"slack-command-{trigger_id}",
        )

    def _admins_by_email(self) -> bool:
        return any("@" in entry for entry in self.ctx.admins)

    def _working_note(self, user: str, channel: str) -> dict[str, Any]:
        if channel and channel == self.ctx.directory.known_dm(user):
            return {}  # already in our DM: the answer appears right here
        return self.ctx.views.message("command_received")

    def _targets(self) -> list[dict[str, Any]]:
        campaign = self.ctx.campaign
        now = self.ctx.now()
        return [deadline_view(target, campaign, now) for target in campaign.targets()]

    # --- for the CIB team, after the ack ----------------------------------------------------

    async def _digest(self, user: str, target: Target) -> None:
        ctx = self.ctx
        person = await ctx.directory.person(user)
        if not ctx.is_admin(user, person):
            await post(ctx, target, ctx.views.message("not_allowed", {"command": "digest", **ctx.team()}))
            return
        await post(ctx, target, await digest_for_slack(ctx.service, ctx.now(), views=ctx.views))

    async def _export(self, user: str, target: Target) -> None:
        ctx = self.ctx
        person = await ctx.directory.person(user)
        if not ctx.is_admin(user, person):
            await post(ctx, target, ctx.views.message("not_allowed", {"command": "export", **ctx.team()}))
            return
        data = await ctx.service.export()
        content = to_csv(data)
        channel = await ctx.directory.dm_channel(user)
        counts = {key: len(data.get(key) or []) for key in ("submissions", "nominations", "enquiries")}
        note = ctx.views.message("export_ready", counts)
        stamp = ctx.now().strftime("%Y%m%d-%H%M")
        await ctx.client.files_upload_v2(
            channel=channel,
            content=content,
            filename=f"cib-submissions-{stamp}.csv",
            title=f"CIB submissions {stamp}",
            initial_comment=note["text"],
        )


async def digest_for_slack(source: Source, now: datetime, *, views: SlackViews | None = None) -> dict[str, Any]:
    """The digest as of `now`, as a Block Kit message ({"text", "blocks"}), for
    `/cib digest`. Reads only; records nothing."""
    digest = await build_digest(source, now)
    views = views or SlackViews(templates_dir=DEFAULT_TEMPLATES_DIR)
    return views.message("digest", digest.context)
