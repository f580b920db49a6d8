"""One run of the pipeline over one kept message: what the steps share, and how a step
stops the run."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from intake.campaign.definition import Campaign
from intake.campaign.contacts import Contacts
from intake.campaign.register import CouncilRegister
from intake.messages import Authentication, Message, Notice, Reply
from intake.models import IncompleteSubmission, InboundMessage, OutboundMessage
from intake.parsing import Parsed
from intake.pipeline.reply_limits import RateLimits
from intake.outbox.channels import Channels
from intake.store import Unit


@dataclass(frozen=True)
class World:
    """What every step may consult: the campaign, the register, the time, the channels."""

    campaign: Campaign
    councils: CouncilRegister
    clock: Callable[[], datetime]
    channels: Channels
    intake_address: str = ""
    rate_limits: Mapping[str, RateLimits] = field(default_factory=dict)  # by channel
    # The councils' listed contacts (config/contacts.csv), read when needed: an edited file
    # takes effect without a restart.
    contacts: Callable[[], Contacts] = Contacts


@dataclass(frozen=True)
class Stop:
    """A step ends the run: the message is kept with this status and classification
    (e.g. ignored/automatic), and nothing else happens."""

    status: str  # "ignored" | "refused" | "held"
    classification: str
    detail: str | None = None


@dataclass(frozen=True)
class Pending:
    """A change this message asks for that waits for the contact on record to confirm it."""

    target: str  # what it changes: a reference, "draft:<id>", "lead:<region>:<role>"
    contact: str  # who is asked
    summary: str  # what they are asked to confirm ("withdraw it")
    view: dict[str, Any]  # what the requester and the contact are shown of the record
    reference: str | None = None
    # What it would change, shown to whoever is asked: [{"title", "old", "new"}].
    changes: list[dict[str, str]] = field(default_factory=list)
    control: bool = False  # it changes the entry's contact email, and so who may change it
    council: str | None = None  # the entry's council (its listed contacts hear of a change of control)
    by_team: bool = False  # the CIB team decides it (a move to another council), not a contact


@dataclass
class Run:
    world: World
    row: InboundMessage
    message: Message | None = None
    sender: str | None = None  # who the sender step says sent it
    admin: bool = False
    authentication: Authentication | None = None
    proven: bool = False  # the sender's address is proven theirs (its domain, at least)
    # What the contacts on record have confirmed for this message (targets), and those
    # confirmations' ids; what it asks that still needs confirming.
    confirmed: set[str] = field(default_factory=set)
    confirmed_ids: list[int] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    follow_on: list[int] = field(default_factory=list)  # held messages to process after this one
    not_held: list[str] = field(default_factory=list)  # changes asked for and not held, and why
    requests: list[OutboundMessage] = field(default_factory=list)  # confirmation requests to send
    answering: bool = False  # the caller sends the answers on the message's channel itself
    again: bool = False  # processed before (failed, or replayed): processed anew
    silenced: str | None = None  # why this message gets no reply (a rate limit), if it does not
    parsed: Parsed | None = None
    # Open drafts this message completes, by offer (the follow-up step finds them).
    completing: dict[str, IncompleteSubmission] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    recorded: set[str] = field(default_factory=set)  # channels with new outbound rows
    held: list[int] = field(default_factory=list)  # new rows held for the message's channel
    stop: Stop | None = None
    unit: Unit | None = None  # the transaction, in the steps that change things

    @property
    def tx(self) -> Unit:
        assert self.unit is not None, "this step runs inside the transaction"
        return self.unit

    @property
    def msg(self) -> Message:
        assert self.message is not None
        return self.message

    @property
    def now(self) -> datetime:
        return self.world.clock()

    @property
    def round(self) -> str:
        """Part of every outbound key: processed again once a change is confirmed, a
        message says new things (the change made), which must not collide with the old."""
        return ":c" + "-".join(map(str, self.confirmed_ids)) if self.confirmed_ids else ""
