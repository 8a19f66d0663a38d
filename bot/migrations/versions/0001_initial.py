"""The first schema: inbox, leads, scores, effects (outbox), deadlines, caches and counters

Revision ID: 0001
Revises: 

"""
from alembic import op
import sqlalchemy as sa

import bot.store.schema


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('counters',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('deadlines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('started_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('due_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('updated_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('run_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('claimed_until', bot.store.schema.UtcDateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.create_index('ix_deadlines_due', ['state', 'run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadlines_lead_id'), ['lead_id'], unique=False)

    op.create_table('effects',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('created_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('done_at', bot.store.schema.UtcDateTime(), nullable=True),
    sa.Column('run_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('claimed_until', bot.store.schema.UtcDateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('effects', schema=None) as batch_op:
        batch_op.create_index('ix_effects_claim', ['state', 'run_at'], unique=False)

    op.create_table('inbox_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('portal_id', sa.String(length=32), nullable=True),
    sa.Column('object_id', sa.String(length=32), nullable=True),
    sa.Column('occurred_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('received_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('lane', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('finished_at', bot.store.schema.UtcDateTime(), nullable=True),
    sa.Column('run_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('claimed_until', bot.store.schema.UtcDateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('inbox_events', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_claim', ['state', 'lane', 'run_at'], unique=False)
        batch_op.create_index('ix_inbox_object', ['object_id', 'state'], unique=False)

    op.create_table('leads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.String(length=32), nullable=False),
    sa.Column('open_contact_id', sa.String(length=32), nullable=True),
    sa.Column('portal_id', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('became_mql_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('high_intent', sa.Boolean(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=True),
    sa.Column('assignee', sa.String(length=32), nullable=True),
    sa.Column('route_why', sa.Text(), nullable=True),
    sa.Column('card', sa.Text(), nullable=False),
    sa.Column('accepted_at', bot.store.schema.UtcDateTime(), nullable=True),
    sa.Column('accepted_by', sa.String(length=32), nullable=True),
    sa.Column('closed_at', bot.store.schema.UtcDateTime(), nullable=True),
    sa.Column('closed_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_contact_id')
    )
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leads_contact_id'), ['contact_id'], unique=False)

    op.create_table('scores',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.String(length=32), nullable=False),
    sa.Column('computed_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('fit', sa.Float(), nullable=False),
    sa.Column('engagement', sa.Float(), nullable=False),
    sa.Column('is_mql', sa.Boolean(), nullable=False),
    sa.Column('high_intent', sa.Boolean(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('gates_failed', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.create_index('ix_scores_contact', ['contact_id', 'computed_at'], unique=False)

    op.create_table('settings_kv',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('slack_users',
    sa.Column('owner_id', sa.String(length=32), nullable=False),
    sa.Column('slack_user_id', sa.String(length=32), nullable=True),
    sa.Column('owner_name', sa.String(length=200), nullable=True),
    sa.Column('looked_up_at', bot.store.schema.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('owner_id')
    )
    op.create_table('throttles',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('blocked_until', bot.store.schema.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('throttles')
    op.drop_table('slack_users')
    op.drop_table('settings_kv')
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_index('ix_scores_contact')

    op.drop_table('scores')
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leads_contact_id'))

    op.drop_table('leads')
    with op.batch_alter_table('inbox_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_object')
        batch_op.drop_index('ix_inbox_claim')

    op.drop_table('inbox_events')
    with op.batch_alter_table('effects', schema=None) as batch_op:
        batch_op.drop_index('ix_effects_claim')

    op.drop_table('effects')
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadlines_lead_id'))
        batch_op.drop_index('ix_deadlines_due')

    op.drop_table('deadlines')
    op.drop_table('counters')
