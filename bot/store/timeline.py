"""The per-contact activity timeline Handoff keeps (what HubSpot's contact record holds only as counts): workflow
webhooks' activities and the web-analytics events API's page views with their URL."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import Connection, func, select

from bot.models import Activity
from bot.store.db import insert_ignore
from bot.store.schema import activities

KEEP_FOR_SCORING = timedelta(days=120)   # longer than any sensible recency window


def add_activity(conn: Connection, key: str, contact_id: str, activity: Activity, now: datetime) -> bool:
    """Store one activity; a redelivery (same key) is a no-op. True when it was new."""
    return add_activities(conn, contact_id, [(key, activity)], now) == 1


def add_activities(conn: Connection, contact_id: str, keyed: Sequence[tuple[str, Activity]], now: datetime) -> int:
    """Store the contact's activities in one statement; keys already stored are skipped. How many were new."""
    rows = [{"dedupe_key": key, "contact_id": contact_id, "kind": activity.kind, "occurred_at": activity.occurred_at,
             "label": activity.label, "count": activity.count, "source": activity.source, "received_at": now}
            for key, activity in keyed]
    return insert_ignore(conn, activities, rows, key="dedupe_key")


def newest_from(conn: Connection, contact_ids: Sequence[str], source: str) -> dict[str, datetime]:
    """When each contact's newest activity from `source` happened (where an incremental fetch resumes)."""
    rows = conn.execute(select(activities.c.contact_id, func.max(activities.c.occurred_at))
                        .where(activities.c.contact_id.in_(list(contact_ids)), activities.c.source == source)
                        .group_by(activities.c.contact_id))
    return {contact_id: newest for contact_id, newest in rows}   # max() keeps the column type: aware UTC


def recent_activities(conn: Connection, contact_ids: Sequence[str], now: datetime) -> dict[str, list[Activity]]:
    """Each contact's stored activities of the last months, newest first, in one query for a whole batch."""
    rows = conn.execute(select(activities).where(activities.c.contact_id.in_(list(contact_ids)),
                                                 activities.c.occurred_at >= now - KEEP_FOR_SCORING)
                        .order_by(activities.c.occurred_at.desc()))
    found: dict[str, list[Activity]] = {}
    for row in rows:
        found.setdefault(row.contact_id, []).append(
            Activity(kind=row.kind, occurred_at=row.occurred_at, label=row.label, count=row.count, source=row.source))
    return found


def rekey(conn: Connection, old_id: str, new_id: str) -> None:
    """A merged contact's behaviour belongs to the survivor."""
    conn.execute(activities.update().where(activities.c.contact_id == old_id).values(contact_id=new_id))
