"""What crosses the boundary between a channel and the core: an `Inbound` in (kept as an
`InboundMessage` row, read back by the channel's reader into a `Message`), `Reply`s and
scheduled `Post`s out, which the channel's outbox turns into outbound rows. Neither side
knows how the other works."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Channel = Literal["email", "slack"]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str | None) -> str | None:
    """Text any database can hold: lone surrogates (undecodable bytes) become U+FFFD and
    NULs are dropped (PostgreSQL refuses them)."""
    if text is None:
        return None
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


@dataclass(frozen=True)
class FormInput:
    """Values from a Slack modal, keyed by field key ("" for an empty field).
    For the nomination: "region", "<role>.name", "<role>.council", "<role>.email"."""

    kind: Literal["offer", "nomination"]
    values: dict[str, str]
    offer: str | None = None


@dataclass(frozen=True)
class Inbound:
    channel: Channel
    raw: bytes  # the whole RFC 5322 message, or the Slack payload as JSON
    sender: str | None = None  # email address: From, or the Slack user's profile email
    external_id: str | None = None  # Message-ID, or Slack event_id / view id
    subject: str = ""
    text: str | None = None  # Slack: the message text (email text comes from `raw`)
    form: FormInput | None = None  # Slack: modal values
    meta: dict[str, Any] = field(default_factory=dict)  # envelope sender, Slack user/channel/thread
    admin: bool = False  # a CIB team member (may change anything)


@dataclass(frozen=True)
class Authentication:
    """What is proven about who sent a message, judged once when it is first processed
    and kept with it (`inbound_messages.authentication`).

    `proven` means the sender's domain is established: for email, DMARC passed or a DKIM
    signature aligned with the From domain verified (by our own checks, or in the
    Authentication-Results of a server we trust); for Slack, Slack signed in the user."""

    method: Literal["authserv", "checked", "slack", "none"]
    domain: str | None  # the domain judged: the From header's, the Slack profile email's
    proven: bool
    results: str = ""  # the Authentication-Results value it rests on ("mx.example; dmarc=pass ...")

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "domain": self.domain, "proven": self.proven, "results": self.results}

    @classmethod
    def from_json(cls, data: Any) -> Authentication | None:
        if not isinstance(data, dict) or data.get("method") not in ("authserv", "checked", "slack", "none"):
            return None
        return cls(
            method=data["method"], domain=data.get("domain"), proven=bool(data.get("proven")),
            results=str(data.get("results") or ""),
        )

    def describe(self) -> str:
        """One line for the team and the exports."""
        if self.method == "slack":
            return "Slack account" if self.proven else "Slack, no email on the profile"
        verdict = "proven" if self.proven else "not proven"
        detail = _summary(self.results)
        return f"{verdict}: {detail}" if detail else verdict


NOT_PROVEN = Authentication(method="none", domain=None, proven=False)


def _summary(results: str) -> str:
    """"mx; spf=pass smtp.mailfrom=a@b; dkim=fail header.d=b" -> "spf=pass, dkim=fail (by mx)"."""
    authserv, _, rest = results.partition(";")
    methods = [part.split()[0] for part in rest.split(";") if part.split() and "=" in part.split()[0]]
    if not methods:
        return ""
    return ", ".join(methods) + (f" (by {authserv.split()[0]})" if authserv.strip() else "")


@dataclass(frozen=True)
class Kept:
    """A message committed to the inbound table: its id, and whether it was there before."""

    id: int
    duplicate: bool


@dataclass(frozen=True)
class Identified:
    """Who sent a message kept before the channel knew (a Slack event is kept before the
    profile lookup that tells the bot the user's email); handed to `process`."""

    sender: str | None
    admin: bool = False
    quiet: bool = False  # never answer it (a bot the payload did not show as one)


@dataclass
class Reply:
    """One answer, rendered per channel from templates/<channel>/<kind>.*.j2.

    `context` is plain data (JSON-able) so every channel renders the same facts."""

    kind: str
    context: dict[str, Any]
    to: str | None = None
    subject: str = ""


@dataclass(frozen=True)
class Notice:
    """Something the CIB team hears of as it happens ("PBR-0007 from Camden").

    `unverified`: the references it reports that wait for the team to verify (or reject)
    them, so a channel can offer those actions next to the words."""

    text: str
    unverified: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.text


@dataclass
class Outcome:
    inbound_id: int
    classification: str  # submission | nomination | query | enquiry | amend | withdraw | automatic | duplicate | failed
    replies: list[Reply] = field(default_factory=list)
    # Things the CIB team may want to hear about as they happen ("PBR-0007 from Camden").
    notices: list[Notice] = field(default_factory=list)
    duplicate: bool = False
    # Outbound rows held for the message's own channel to send at once (see `HOLD`).
    held: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class AttachedFile:
    """An attached document the channel read (or could not, and why)."""

    name: str
    problem: str = ""  # "" when its text was read with the body


@dataclass(frozen=True)
class Message:
    """A kept message as the pipeline reads it (see `intake/pipeline/`)."""

    channel: str
    sender: str | None  # as the channel read it: a claim, until the sender step has judged it
    reply_to: str | None
    subject: str
    text: str
    message_id: str | None = None
    thread_ids: tuple[str, ...] = ()  # In-Reply-To + References
    automatic: str | None = None  # why this is a machine's message (auto-reply, bounce), if it is
    form: FormInput | None = None
    admin: bool = False
    quiet: bool = False  # never answered (a bot the channel found out about late)
    meta: dict[str, Any] = field(default_factory=dict)  # the channel's own (where to answer)
    confirms: str | None = None  # the confirmation token it carries (see intake/parsing/confirmation_tokens.py)
    bounced: tuple[str, ...] = ()  # a bounce of our mail: the addresses it did not reach
    sender_name: str | None = None  # the display name it was sent under (a claim, like the address)
    signature: str = ""  # the sign-off block the channel cut from `text`, if any
    sender_doubtful: bool = False  # the channel could not tell one sender (two mailboxes in From)
    no_auto_replies: bool = False  # the sender asked for none: processed as usual, not answered
    attachments: tuple[AttachedFile, ...] = ()  # documents attached (their text is in `text`)


@dataclass(frozen=True)
class Post:
    """A scheduled message (a reminder, a digest), rendered, for a channel's outbox to
    address and wrap: email uses subject/text/html, Slack its Block Kit `payload`."""

    kind: str
    recipient: str
    send_key: str
    now: datetime
    subject: str = ""
    text: str = ""
    html: str | None = None
    payload: dict[str, Any] | None = None
