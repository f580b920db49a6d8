"""Everything else Slack may send the app: other events, buttons and shortcuts, other
views, closed views and legacy dialogs. Each is acknowledged and deliberately left alone,
so Slack neither retries it nor shows the user an error; nothing is kept or answered.

These listeners match anything of their kind, so bot.bolt_app registers them after the
listeners that handle requests (Bolt runs the first listener that matches).
"""
from __future__ import annotations

import re

from slack_bolt.async_app import AsyncAck, AsyncApp

_ANY = re.compile(".*")


async def acknowledge(ack: AsyncAck) -> None:
    await ack()


async def no_options(ack: AsyncAck) -> None:
    await ack(options=[])


def register(app: AsyncApp) -> None:
    app.event(_ANY)(acknowledge)
    app.action(_ANY)(acknowledge)
    app.shortcut(_ANY)(acknowledge)
    app.view_submission(_ANY)(acknowledge)
    app.view_closed(_ANY)(acknowledge)
    app.dialog_submission(_ANY)(acknowledge)
    app.dialog_cancellation(_ANY)(acknowledge)
    app.dialog_suggestion(_ANY)(no_options)
