"""one outbound state machine: Slack posts use email's states

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 06:00:00
"""
from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE outbound_messages SET status = 'pending' WHERE status = 'queued'")
    op.execute("UPDATE outbound_messages SET status = 'sending' WHERE status = 'posting'")


def downgrade() -> None:
    op.execute("UPDATE outbound_messages SET status = 'queued' WHERE channel = 'slack' AND status = 'pending'")
    op.execute("UPDATE outbound_messages SET status = 'posting' WHERE channel = 'slack' AND status = 'sending'")
