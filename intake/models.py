"""SQLAlchemy 2.x tables. Only intake.store reads and writes them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class InboundMessage(Base):
    """Every message as it arrived, kept before anything else is done with it."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_inbound_external"),
        # The rate limits count a channel's messages, and a sender's, since a moment.
        Index("ix_inbound_channel_received", "channel", "received_at"),
        Index("ix_inbound_sender_received", "sender", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(998))
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)  # envelope, Slack user, thread
    received_at: Mapped[datetime]
    # received -> processed | ignored | held | failed
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    classification: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]
    # What is proven about the sender (`Authentication.as_json`), judged on first processing.
    authentication: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Counter(Base):
    """Per-prefix reference number sequences (PBR-0001, PBR-0002, ...)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Place(Base):
    """One place an offer has (the PbR pathfinder's 30): an accepted submission holds one,
    so the database itself refuses a 31st acceptance."""

    __tablename__ = "places"

    offer: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_offer_council", "offer", "council_code"),
        ForeignKeyConstraint(["offer", "place"], ["places.offer", "places.slot"], name="fk_submission_place"),
        UniqueConstraint("offer", "place", name="uq_submission_place"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    offer: Mapped[str] = mapped_column(String(64))
    council_code: Mapped[str] = mapped_column(String(16))
    contact_name: Mapped[str] = mapped_column(Text)
    contact_email: Mapped[str] = mapped_column(String(320))
    sender: Mapped[str | None] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    late_accepted: Mapped[bool] = mapped_column(Boolean, default=False)  # the team took it although late
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | withdrawn | superseded | rejected
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    # The CIB team's decision: accepted | declined | waitlisted; an accepted one of an offer
    # with a capacity holds a place.
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None]
    place: Mapped[int | None] = mapped_column(Integer)


class IncompleteSubmission(Base):
    """A submission still missing something; completed by a follow-up from the sender."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str | None] = mapped_column(String(320), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    # open -> completed
    status: Mapped[str] = mapped_column(String(16), default="open")
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))


class Nomination(Base):
    """One person named for one regional lead role; a later one supersedes it."""

    __tablename__ = "nominations"
    __table_args__ = (Index("ix_nominations_region_role", "region", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), index=True)
    region: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    council_code: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))
    sender: Mapped[str | None] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    late_accepted: Mapped[bool] = mapped_column(Boolean, default=False)  # the team took it although late
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)


class Enquiry(Base):
    __tablename__ = "enquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str | None] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    # The team's handling: answered (the answer sent to the sender) or marked handled.
    handled_at: Mapped[datetime | None]
    handled_by: Mapped[str | None] = mapped_column(String(320))
    answer: Mapped[str | None] = mapped_column(Text)


class OutboundMessage(Base):
    """Everything we send, recorded before it is sent; `send_key` makes a send unique."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    send_key: Mapped[str | None] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the whole message as sent
    created_at: Mapped[datetime]
    # pending -> sending -> sent | failed, for every channel (retried until attempts run out)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    # The process holding the lease while "sending" (intake/outbox/owners.py).
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)


class Confirmation(Base):
    """A change held until the contact on record confirms it: a one-time token sent to
    them, which a reply carrying it (plus address or subject) redeems."""

    __tablename__ = "confirmations"
    __table_args__ = (UniqueConstraint("inbound_id", "target", name="uq_confirmation_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"))  # the held message
    target: Mapped[str] = mapped_column(String(200))  # "PBR-0007", "draft:12", "lead:<region>:<role>"
    reference: Mapped[str | None] = mapped_column(String(32))
    contact: Mapped[str] = mapped_column(String(320))
    requester: Mapped[str | None] = mapped_column(String(320))
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | confirmed | declined | expired
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    # Who decides: "contact" (the token is mailed to them) or "team" (a move to another
    # council: never mailed, decided in the workspace).
    waits_for: Mapped[str] = mapped_column(String(16), default="contact", server_default="contact")
    # It changes who controls the entry (its contact email): the council's listed contacts are told too.
    control: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When a reply that was neither "Yes" nor "No" was answered: only the first one is.
    nudged_at: Mapped[datetime | None]


class AuditEntry(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))  # created, amended, withdrawn, ...
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None]
    reference: Mapped[str | None] = mapped_column(String(32), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)


class SignInLink(Base):
    """A one-time sign-in link emailed to a team address: only its hash is kept, so the
    table cannot be read back into working links."""

    __tablename__ = "team_sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class TeamSession(Base):
    """A signed-in team member's session (the cookie holds the token; we keep its hash)."""

    __tablename__ = "team_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class UnreachableAddress(Base):
    """An address the team has noted cannot be reached (our mail to it bounces): nothing
    scheduled is sent to it; the team calls instead."""

    __tablename__ = "unreachable_addresses"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    noted_at: Mapped[datetime]
    noted_by: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text, default="")
