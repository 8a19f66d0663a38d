"""Handoff's own activity timeline (workflow webhooks: page views with URLs and other behaviour).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

import bot.store.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = bot.store.schema.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", Time(), nullable=False),
        sa.Column("label", sa.Text(), server_default="", nullable=False),
        sa.Column("count", sa.Integer(), server_default="1", nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("received_at", Time(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_activities_contact", "activities", ["contact_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_activities_contact", table_name="activities")
    op.drop_table("activities")
