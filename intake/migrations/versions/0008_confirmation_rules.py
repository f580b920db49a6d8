"""who decides a held change (its contact or the team), whether it changes who controls
the entry, and when a reply that was neither yes nor no was answered

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import intake.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("confirmations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waits_for", sa.String(length=16), nullable=False, server_default="contact"))
        batch_op.add_column(sa.Column("control", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("nudged_at", intake.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("confirmations", schema=None) as batch_op:
        batch_op.drop_column("nudged_at")
        batch_op.drop_column("control")
        batch_op.drop_column("waits_for")
