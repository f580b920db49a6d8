"""Every Slack message held to Block Kit's limits without losing a line: a section longer
than Slack allows is split into several sections at line breaks, a context with too many
elements into several contexts, and a message with more blocks than one post may carry
into several posts (`pages`), each posted in turn. Pure functions over rendered JSON.
"""
from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50  # blocks in one message
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10  # fields in one section
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_HEADER_TEXT = 150
MAX_TEXT = 3900  # a message's top-level text, its notification (Slack cuts at 40,000)
CONTINUED = "(continued)"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at line breaks where it can be
    (a single line longer than the limit is cut where it must be)."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()] or [text[:limit]]


def verbatim(node: Any) -> None:
    """Every mrkdwn text object verbatim: Slack then turns no bare URL, #channel or
    @mention into a link or a ping; only our explicit `<@U…>` markup is parsed."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            node["verbatim"] = True
        for value in node.values():
            verbatim(value)
    elif isinstance(node, list):
        for value in node:
            verbatim(value)


def fit_block(block: dict[str, Any]) -> list[dict[str, Any]]:
    """One block as one or more blocks within the limits."""
    verbatim(block)
    kind = block.get("type")
    if kind == "header":
        text = block.get("text")
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            text["text"] = clip(text["text"], MAX_HEADER_TEXT)  # a title of ours, never a list
        return [block]
    if kind == "context":
        elements = block.get("elements") or []
        chunks = [elements[i:i + MAX_CONTEXT_ELEMENTS] for i in range(0, len(elements), MAX_CONTEXT_ELEMENTS)]
        return [{**block, "elements": chunk} for chunk in chunks] or [block]
    if kind != "section":
        return [block]
    out: list[dict[str, Any]] = []
    text = block.get("text")
    if isinstance(text, dict) and isinstance(text.get("text"), str) and len(text["text"]) > MAX_SECTION_TEXT:
        parts = split_text(text["text"], MAX_SECTION_TEXT)
        rest = {k: v for k, v in block.items() if k not in ("text", "fields", "accessory", "block_id")}
        for n, part in enumerate(parts):
            piece = {**rest, "text": {**text, "text": part}}
            if n == 0:  # the button or image beside the section stays with its start
                piece.update({k: block[k] for k in ("accessory", "block_id") if k in block})
            out.append(piece)
        if block.get("fields"):
            out.append({"type": "section", "fields": block["fields"]})
    else:
        out.append(block)
    fitted: list[dict[str, Any]] = []
    for piece in out:
        fields = piece.get("fields")
        if not fields:
            fitted.append(piece)
            continue
        for item in fields:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                item["text"] = clip(item["text"], MAX_FIELD_TEXT)
        chunks = [fields[i:i + MAX_FIELDS] for i in range(0, len(fields), MAX_FIELDS)]
        fitted.append({**piece, "fields": chunks[0]})
        fitted.extend({"type": "section", "fields": chunk} for chunk in chunks[1:])
    return fitted


def fit_message(message: dict[str, Any]) -> dict[str, Any]:
    """A rendered message with every block within its own limits (the number of blocks is
    left to `pages`)."""
    blocks = [piece for b in message.get("blocks") or [] if isinstance(b, dict) for piece in fit_block(b)]
    out: dict[str, Any] = {"text": clip(str(message.get("text") or ""), MAX_TEXT)}
    if blocks:
        out["blocks"] = blocks
    return out


def pages(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The message as the posts that carry all of it: 50 blocks a post, in order; the
    posts after the first say they continue it."""
    fitted = fit_message(message)
    blocks = fitted.get("blocks") or []
    if len(blocks) <= MAX_BLOCKS:
        return [fitted]
    out = []
    for start in range(0, len(blocks), MAX_BLOCKS):
        text = fitted["text"] if start == 0 else clip(f"{CONTINUED} {fitted['text']}", MAX_TEXT)
        out.append({"text": text, "blocks": blocks[start:start + MAX_BLOCKS]})
    return out
