"""indexes for every look-up a step or a page makes: the rate limits' counts by channel
and by sender since a moment, what each message made, and an entry's history

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 01:00:00
"""
from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_inbound_channel_received", "inbound_messages", ["channel", "received_at"]),
    ("ix_inbound_sender_received", "inbound_messages", ["sender", "received_at"]),
    ("ix_submissions_inbound_id", "submissions", ["inbound_id"]),
    ("ix_drafts_inbound_id", "drafts", ["inbound_id"]),
    ("ix_nominations_inbound_id", "nominations", ["inbound_id"]),
    ("ix_enquiries_inbound_id", "enquiries", ["inbound_id"]),
    ("ix_outbound_messages_inbound_id", "outbound_messages", ["inbound_id"]),
    ("ix_audit_reference", "audit", ["reference"]),
    ("ix_audit_inbound_id", "audit", ["inbound_id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
