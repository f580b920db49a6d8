"""late entries the team accepted; addresses noted as unreachable

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import intake.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("submissions", "nominations"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("late_accepted", sa.Boolean(), nullable=False, server_default=sa.false())
            )
    op.create_table(
        "unreachable_addresses",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("noted_at", intake.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("noted_by", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )


def downgrade() -> None:
    op.drop_table("unreachable_addresses")
    for table in ("nominations", "submissions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("late_accepted")
