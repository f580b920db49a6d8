"""What each channel registers with the core (only the composition root, `intake/app.py`,
does the registering): a reader (stored row -> `Message`) for the pipeline, and a composer
(reply or scheduled post -> outbound row for the outbox); and where the team hears of
things. The outbox itself is the `outbound_messages` table and its dispatchers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from intake.messages import Message, Post, Reply
from intake.models import InboundMessage, OutboundMessage


class Reader(Protocol):
    """One stored row back into a `Message`. Pure; never raises."""

    def __call__(self, row: InboundMessage) -> Message: ...


class Composer(Protocol):
    """A channel's messages as outbound rows: rendered, addressed, ready for its carrier."""

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
    composers: dict[str, Composer] = field(default_factory=dict)
    notices: Notices | None = None

    def register(self, channel: str, *, reader: Reader, composer: Composer | None = None) -> None:
        self.readers[channel] = reader
        if composer is not None:
            self.composers[channel] = composer
