"""The SDR loop: decisions, snooze and touches on leads; the lead journey; rep availability; Slack event dedupe.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

import bot.store.schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = bot.store.schema.UtcDateTime

LEAD_COLUMNS = (
    ("snoozed_until", Time(), True, None),
    ("touches", sa.Integer(), False, "0"),
    ("decision", sa.String(length=32), True, None),
    ("decision_reason", sa.Text(), True, None),
    ("decided_by", sa.String(length=32), True, None),
    ("decided_at", Time(), True, None),
    ("bant", sa.Text(), True, None),
    ("ae_owner_id", sa.String(length=32), True, None),
    ("ae_user", sa.String(length=32), True, None),
    ("revisit_at", Time(), True, None),
)


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        for name, type_, nullable, default in LEAD_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=nullable, server_default=default))
    op.create_table(
        "lead_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("lead_id", Id, nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", Time(), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_events_lead", "lead_events", ["lead_id", "at"])
    op.create_table(
        "rep_status",
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("away_until", Time(), nullable=True),
        sa.Column("updated_at", Time(), nullable=False),
        sa.PrimaryKeyConstraint("slack_user_id"),
    )
    op.create_table(
        "slack_events_seen",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", Time(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )


def downgrade() -> None:
    op.drop_table("slack_events_seen")
    op.drop_table("rep_status")
    op.drop_index("ix_lead_events_lead", table_name="lead_events")
    op.drop_table("lead_events")
    with op.batch_alter_table("leads") as batch:
        for name, *_ in reversed(LEAD_COLUMNS):
            batch.drop_column(name)
