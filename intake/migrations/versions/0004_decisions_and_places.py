"""the CIB team's decisions: accepted, declined or waitlisted; an offer's places

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import intake.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("offer", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("offer", "slot"),
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("decided_at", intake.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("place", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_submission_place", "places", ["offer", "place"], ["offer", "slot"])
        batch_op.create_unique_constraint("uq_submission_place", ["offer", "place"])


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_submission_place", type_="unique")
        batch_op.drop_constraint("fk_submission_place", type_="foreignkey")
        batch_op.drop_column("place")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decision")
    op.drop_table("places")
