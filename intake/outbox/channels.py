"""What each channel registers with the core (only the composition root, `intake/app.py`,
does the registering): a reader (stored row -> `Message`) for the pipeline, and an outbox
(reply, scheduled post -> outbound row); and where the team hears of things."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from intake.messages import Message, Post, Reply
from intake.models import InboundMessage, OutboundMessage


class Reader(Protocol):
    """One stored row back into a `Message`. Pure; never raises."""

    def __call__(self, row: InboundMessage) -> Message: ...


class Outbox(Protocol):
    def reply(self, reply: Reply, *, row: InboundMessage, message: Message) -> OutboundMessage | None:
        """A reply to a message, rendered and addressed; None when nobody can be answered."""
        ...

    def scheduled(self, post: Post) -> OutboundMessage:
        """A reminder or digest, wrapped for this channel."""
        ...


class Notices(Protocol):
    """Where the team hears of what happened (e.g. a Slack channel): a notice as a row."""

    def notice(self, text: str, *, message: Message) -> OutboundMessage: ...


@dataclass
class Channels:
    readers: dict[str, Reader] = field(default_factory=dict)
    outboxes: dict[str, Outbox] = field(default_factory=dict)
    notices: Notices | None = None

    def register(self, channel: str, *, reader: Reader, outbox: Outbox | None = None) -> None:
        self.readers[channel] = reader
        if outbox is not None:
            self.outboxes[channel] = outbox
