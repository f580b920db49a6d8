"""What each channel registers with the core (only the composition root, `intake/runtime/composition.py`,
does the registering): a reader (stored row -> `Message`; a full reader too, when reading
everything in a message means opening what is attached to it) and an authenticator (what
is proven about the sender) for the pipeline, and a composer (reply or scheduled post ->
outbound row for the outbox); where the team hears of things; where confirmation requests
go. The outbox itself is the `outbound_messages` table and its dispatchers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from intake.messages import Authentication, Message, Notice, Post, Reply
from intake.models import InboundMessage, OutboundMessage


class Reader(Protocol):
    """One stored row back into a `Message`. Pure and quick (attached documents are not
    opened); never raises. For the team's pages and replies, and the pipeline when the
    channel has no full reader."""

    def __call__(self, row: InboundMessage) -> Message: ...


class FullReader(Protocol):
    """One stored row back into a `Message` with everything in it read, attached documents
    included: work done away from the event loop (worker processes), which may take
    seconds and is awaited. Never raises. The pipeline's reader, when a channel has one."""

    async def __call__(self, row: InboundMessage) -> Message: ...


class Composer(Protocol):
    """A channel's messages as outbound rows: rendered, addressed, ready for its carrier."""

    def reply(self, reply: Reply, *, row: InboundMessage, message: Message) -> list[OutboundMessage]:
        """A reply to a message, rendered and addressed: usually one row; none when nobody
        can be answered; more when it goes to more than one place (a short note where it
        was asked, the details privately)."""
        ...

    def scheduled(self, post: Post) -> OutboundMessage:
        """A reminder or digest, wrapped for this channel."""
        ...


class Notices(Protocol):
    """Where the team hears of what happened (e.g. a Slack channel): a notice as a row.
    A notice's `unverified` references are entries the team may verify or reject from it."""

    def notice(self, notice: Notice, *, message: Message) -> OutboundMessage: ...


class Authenticator(Protocol):
    """What is proven about who sent a stored message (DKIM/SPF/DMARC, a Slack sign-in).
    May do I/O (DNS); never raises: anything it cannot establish is not proven."""

    async def __call__(self, row: InboundMessage) -> Authentication: ...


class Confirmer(Protocol):
    """Where confirmation requests go (email): a request to `to`, rendered from `kind`
    with `context`, whose reply carries `token` back to the intake."""

    def request(self, kind: str, context: dict[str, Any], *, to: str, token: str) -> OutboundMessage: ...


@dataclass
class Channels:
    readers: dict[str, Reader] = field(default_factory=dict)
    full_readers: dict[str, FullReader] = field(default_factory=dict)
    composers: dict[str, Composer] = field(default_factory=dict)
    authenticators: dict[str, Authenticator] = field(default_factory=dict)
    notices: Notices | None = None
    confirmations: Confirmer | None = None

    def register(
        self,
        channel: str,
        *,
        reader: Reader,
        full_reader: FullReader | None = None,
        composer: Composer | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.readers[channel] = reader
        if full_reader is not None:
            self.full_readers[channel] = full_reader
        if composer is not None:
            self.composers[channel] = composer
        if authenticator is not None:
            self.authenticators[channel] = authenticator
