"""The tables. Alembic migrations (bot/migrations) create them; this module is the one description of them."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, Float, Index, Integer, MetaData, String,
                        Table, Text, TypeDecorator)

metadata = MetaData()

# SQLite has no 64-bit autoincrement type of its own: INTEGER PRIMARY KEY is the rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite keeps no time zone and comparisons must agree on both engines."""
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC time")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


def _lease_columns() -> list[Column]:
    """A claimable row: who holds it, until when, and how many times it was claimed."""
    return [
        Column("run_at", UtcDateTime, nullable=False),
        Column("claimed_until", UtcDateTime),
        Column("claim_token", String(36)),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text),
    ]


# Every HubSpot webhook event, stored before the 2xx. Unique on HubSpot's delivery identity.
inbox_events = Table(
    "inbox_events", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False),
    Column("portal_id", String(32)),
    Column("object_id", String(32)),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("lane", Integer, nullable=False, default=1),
    Column("state", String(16), nullable=False, default="pending"),
    Column("payload", Text, nullable=False),
    Column("finished_at", UtcDateTime),
    *_lease_columns(),
    Index("ix_inbox_claim", "state", "lane", "run_at"),
    Index("ix_inbox_object", "object_id", "state"),
)

# One row per lead: a contact that became an MQL. `open_contact_id` is set while the lead is open and
# NULL once closed, so a unique index allows one open lead per contact on SQLite and PostgreSQL alike.
leads = Table(
    "leads", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", String(32), nullable=False, index=True),
    Column("open_contact_id", String(32), unique=True),
    Column("portal_id", String(32)),
    Column("status", String(16), nullable=False),          # new | accepted | closed
    Column("became_mql_at", UtcDateTime, nullable=False),
    Column("high_intent", Boolean, nullable=False, default=False),
    Column("score", Float, nullable=False),
    Column("summary", Text, nullable=False),
    Column("owner_id", String(32)),                        # HubSpot owner chosen by routing
    Column("assignee", String(32)),                        # their Slack user, once resolved
    Column("route_why", Text),
    Column("card", Text, nullable=False),                  # JSON snapshot the Slack card renders from
    Column("accepted_at", UtcDateTime),
    Column("accepted_by", String(32)),
    Column("closed_at", UtcDateTime),
    Column("closed_reason", Text),
    Column("updated_at", UtcDateTime, nullable=False),
    # The SDR loop (0002): snooze, touches, the decision and its BANT, the AE it went to, the revisit date.
    Column("snoozed_until", UtcDateTime),
    Column("touches", Integer, nullable=False, server_default="0"),
    Column("decision", String(32)),                        # sql | not_yet | no_response | disqualified
    Column("decision_reason", Text),
    Column("decided_by", String(32)),
    Column("decided_at", UtcDateTime),
    Column("bant", Text),                                  # JSON from the BANT form
    Column("ae_owner_id", String(32)),
    Column("ae_user", String(32)),
    Column("revisit_at", UtcDateTime),
)

# Every step of a lead's journey, with who and when: the card's story, the ledger the reports read.
lead_events = Table(
    "lead_events", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("lead_id", Id, nullable=False),
    Column("contact_id", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(32)),
    Column("detail", Text, nullable=False, server_default="{}"),
    Index("ix_lead_events_lead", "lead_id", "at"),
)

# A rep's availability as set with /handoff away (working hours live in routing.yaml).
rep_status = Table(
    "rep_status", metadata,
    Column("slack_user_id", String(32), primary_key=True),
    Column("away_until", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Slack Events API deliveries already handled: a retry (X-Slack-Retry-Num) of the same event_id is a no-op.
slack_events_seen = Table(
    "slack_events_seen", metadata,
    Column("event_id", String(64), primary_key=True),
    Column("received_at", UtcDateTime, nullable=False),
)

# Every score computed, with its reasons: the score history and the feedback loop's raw material.
scores = Table(
    "scores", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", String(32), nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
    Column("total", Float, nullable=False),
    Column("fit", Float, nullable=False),
    Column("engagement", Float, nullable=False),
    Column("is_mql", Boolean, nullable=False),
    Column("high_intent", Boolean, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("gates_failed", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("cause", Text, nullable=False),
    Index("ix_scores_contact", "contact_id", "computed_at"),
)

# The outbox: every side effect (HubSpot write, Slack post or update) is a row with its own unique key,
# written in the same transaction as the decision that caused it, then executed and recorded.
effects = Table(
    "effects", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("lead_id", Id),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False, default="pending"),   # pending | done | failed | skipped
    Column("result", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    *_lease_columns(),
    Index("ix_effects_claim", "state", "run_at"),
)

# SLA deadlines are rows, not scheduler jobs (DESIGN.md): the sweeper claims due steps with compare-and-set.
deadlines = Table(
    "deadlines", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("lead_id", Id, nullable=False, index=True),
    Column("kind", String(32), nullable=False),            # accept
    Column("started_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("step", Integer, nullable=False, default=0),     # index of the next escalation step
    Column("state", String(16), nullable=False, default="pending"),   # pending | done | cancelled
    Column("updated_at", UtcDateTime, nullable=False),
    *_lease_columns(),
    Index("ix_deadlines_due", "state", "run_at"),
)

# HubSpot owner -> Slack user, looked up by email and cached (a miss is cached too).
slack_users = Table(
    "slack_users", metadata,
    Column("owner_id", String(32), primary_key=True),
    Column("slack_user_id", String(32)),
    Column("owner_name", String(200)),
    Column("looked_up_at", UtcDateTime, nullable=False),
)

# Shared counters (round robin) and throttles (a 429 pauses every process, not just the one that got it).
counters = Table(
    "counters", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False, default=0),
)

throttles = Table(
    "throttles", metadata,
    Column("name", String(32), primary_key=True),
    Column("blocked_until", UtcDateTime, nullable=False),
)

settings_kv = Table(
    "settings_kv", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


# Handoff's own activity timeline (0003): behaviour HubSpot's contact record does not keep one by one —
# page views with their URL, sent by a HubSpot workflow's "Send a webhook" action — kept per contact.
activities = Table(
    "activities", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("contact_id", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("label", Text, nullable=False, server_default=""),
    Column("count", Integer, nullable=False, server_default="1"),
    Column("source", String(32), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_activities_contact", "contact_id", "occurred_at"),
)
