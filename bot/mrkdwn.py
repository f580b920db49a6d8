"""Slack's message markup to the plain text the parser reads, and text escaped for it.

Slack delivers `Contact email: <mailto:jo@camden.gov.uk|jo@camden.gov.uk>` and `&amp;` for
what the user typed as `jo@camden.gov.uk` and `&`; the parser must see what was typed. The
bot's own mention (`<@U123>`) is removed so "@CIB when is the PbR deadline?" reads as the
question.
"""
from __future__ import annotations

import re
from typing import Any

_BROADCAST = re.compile(r"(?<![\w.@])@(channel|here|everyone)\b", re.IGNORECASE)


def mrkdwn_escape(value: Any) -> str:
    """Slack's three control characters as entities, and a word joiner after the @ of
    @channel, @here and @everyone: nothing a user typed can become a mention, a
    channel-wide ping or a link when it is echoed back, whatever Slack's parsing options.
    The `mrkdwn` filter of every Slack template."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060\\1", text)


FILTERS = {"mrkdwn": mrkdwn_escape}

# <target|label> or <target>
_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        return _SPECIAL.get(word, label or word)
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    return label or target


def plain_text(text: str | None, *, bot_user_id: str | None = None) -> str:
    """What the user typed: links and mentions as their labels, entities decoded, the
    bot's own mention removed, surrounding whitespace trimmed."""
    if not text:
        return ""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>:?", " ", text)
    text = _LINK.sub(_link, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    lines = [" ".join(line.split()) if not line.strip() else line.strip() for line in text.splitlines()]
    return "\n".join(lines).strip()




