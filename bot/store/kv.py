"""Small shared state: round-robin counters, throttles after a 429, the owner->Slack cache, settings."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping

from sqlalchemy import Connection, select, update

from bot.store.db import insert_ignore, upsert
from bot.store.schema import counters, rep_status, settings_kv, slack_events_seen, slack_users, throttles

SLACK_USER_CACHE_TTL = timedelta(hours=6)


def take_turn(conn: Connection, name: str, size: int) -> int:
    """The next slot of a shared round robin, atomically: two processes never get the same turn."""
    insert_ignore(conn, counters, [{"name": name, "value": 0}], key="name")
    value = conn.execute(update(counters).where(counters.c.name == name)
                         .values(value=counters.c.value + 1).returning(counters.c.value)).scalar_one()
    return (value - 1) % size


def blocked_until(conn: Connection, name: str) -> datetime | None:
    return conn.execute(select(throttles.c.blocked_until).where(throttles.c.name == name)).scalar()


def block(conn: Connection, name: str, until: datetime) -> None:
    """Pause every process's calls to `name` until `until` (keeps the later of two blocks)."""
    if insert_ignore(conn, throttles, [{"name": name, "blocked_until": until}], key="name") == 0:
        conn.execute(update(throttles).where(throttles.c.name == name, throttles.c.blocked_until < until)
                     .values(blocked_until=until))


def cached_slack_user(conn: Connection, owner_id: str, now: datetime) -> tuple[bool, str | None, str | None]:
    """(hit, slack_user_id, owner_name) from the cache; a cached miss is a hit with no user."""
    row = conn.execute(select(slack_users).where(slack_users.c.owner_id == owner_id)).first()
    if row is None or now - row.looked_up_at > SLACK_USER_CACHE_TTL:
        return False, None, None
    return True, row.slack_user_id, row.owner_name


def cache_slack_user(conn: Connection, owner_id: str, slack_user_id: str | None, owner_name: str | None,
                     now: datetime) -> None:
    upsert(conn, slack_users, {"owner_id": owner_id, "slack_user_id": slack_user_id,
                               "owner_name": owner_name, "looked_up_at": now}, key="owner_id")


def owner_for_slack_user(conn: Connection, slack_user_id: str) -> str | None:
    return conn.execute(select(slack_users.c.owner_id)
                        .where(slack_users.c.slack_user_id == slack_user_id)).scalar()


def get_setting(conn: Connection, key: str) -> str | None:
    return conn.execute(select(settings_kv.c.value).where(settings_kv.c.key == key)).scalar()


def put_setting(conn: Connection, key: str, value: str) -> None:
    upsert(conn, settings_kv, {"key": key, "value": value}, key="key")


def cached_owner_name(conn: Connection, owner_id: str) -> str | None:
    return conn.execute(select(slack_users.c.owner_name).where(slack_users.c.owner_id == owner_id)).scalar()


def count_call(conn: Connection, name: str, now: datetime, window_seconds: int) -> tuple[int, float]:
    """Count one call in the current fixed window shared by every process: (calls so far, seconds left)."""
    window = int(now.timestamp() // window_seconds)
    key = f"{name}@{window}"
    if insert_ignore(conn, counters, [{"name": key, "value": 0}], key="name"):
        # The first call of a window clears the finished ones, so the table stays a few rows long.
        conn.execute(counters.delete().where(counters.c.name.like(f"{name}@%"), counters.c.name != key))
    value = conn.execute(update(counters).where(counters.c.name == key)
                         .values(value=counters.c.value + 1).returning(counters.c.value)).scalar_one()
    return value, (window + 1) * window_seconds - now.timestamp()


def set_away(conn: Connection, slack_user_id: str, until: datetime | None, now: datetime) -> None:
    upsert(conn, rep_status, {"slack_user_id": slack_user_id, "away_until": until, "updated_at": now},
           key="slack_user_id")


def away_reps(conn: Connection, now: datetime) -> dict[str, datetime]:
    """Slack users away right now, with when they are back."""
    rows = conn.execute(select(rep_status).where(rep_status.c.away_until > now))
    return {row.slack_user_id: row.away_until for row in rows}


def first_delivery(conn: Connection, event_id: str, now: datetime) -> bool:
    """True the first time Slack delivers this event_id; its retries (X-Slack-Retry-Num) get False."""
    return insert_ignore(conn, slack_events_seen, [{"event_id": event_id, "received_at": now}],
                         key="event_id") == 1


def known_slack_users(conn: Connection, explicit: Mapping[str, str]) -> dict[str, str]:
    """HubSpot owner id -> Slack user id: what the email lookups found, with routing.yaml's mapping winning."""
    rows = conn.execute(select(slack_users).where(slack_users.c.slack_user_id.is_not(None)))
    return {row.owner_id: row.slack_user_id for row in rows} | dict(explicit)
