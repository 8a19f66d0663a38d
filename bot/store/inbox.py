"""The webhook inbox: stored before the 2xx, claimed by workers per contact under a lease."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import Row

from bot.store.db import claim, claimable, insert_ignore, release
from bot.store.schema import inbox_events
from integrations.hubspot.events import WebhookEvent, lane_for

HOT_LANE = 0
# Normal-lane events wait this long so a burst (a bulk import) is read from HubSpot in one batch per
# 100 contacts instead of once per webhook; hot-lane events (form submissions, new contacts) never wait.
DEBOUNCE = timedelta(milliseconds=500)
LEASE = timedelta(seconds=90)


def event_row(event: WebhookEvent, now: datetime) -> dict:
    lane = lane_for(event)
    return {
        "dedupe_key": event.dedupe_key, "event_type": event.event_type, "portal_id": event.portal_id,
        "object_id": event.object_id, "occurred_at": event.occurred_at, "received_at": now,
        "lane": lane, "state": "pending", "payload": json.dumps(dict(event.raw), separators=(",", ":")),
        "run_at": now if lane == HOT_LANE else now + DEBOUNCE, "attempts": 0,
    }


def store_events(conn: Connection, events: Sequence[WebhookEvent], now: datetime) -> int:
    """Store new events; a redelivery (same dedupe key, any attempt number) is a no-op. Returns rows added."""
    unique = {e.dedupe_key: e for e in events}.values()   # one batch may repeat an event
    return insert_ignore(conn, inbox_events, [event_row(e, now) for e in unique], key="dedupe_key")


def claim_contact_batch(conn: Connection, now: datetime, max_contacts: int = 100,
                        lease: timedelta = LEASE) -> list[Row]:
    """Lease every due event of up to `max_contacts` contacts, hot lane first, so each contact is read once."""
    due = claimable(inbox_events, now)
    objects = (select(inbox_events.c.object_id).where(due)
               .order_by(inbox_events.c.lane, inbox_events.c.run_at).limit(max_contacts * 10))
    contact_ids = list(dict.fromkeys(conn.execute(objects).scalars()))[:max_contacts]
    if not contact_ids:
        return []
    where = due & inbox_events.c.object_id.in_(contact_ids)
    return claim(conn, inbox_events, where, [inbox_events.c.id], limit=max_contacts * 50,
                 lease=lease, now=now)


def finish_events(conn: Connection, rows: Sequence[Row], now: datetime, state: str = "done") -> int:
    return sum(release(conn, inbox_events, row, state=state, finished_at=now) for row in rows)


def retry_events(conn: Connection, rows: Sequence[Row], run_at: datetime, error: str) -> int:
    return sum(release(conn, inbox_events, row, run_at=run_at, last_error=error[:2000]) for row in rows)


def pending_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).where(inbox_events.c.state == "pending")).scalar_one()


def enqueue_rescore(conn: Connection, contact_id: str, key: str, portal_id: str | None, now: datetime) -> int:
    """Put a contact back through scoring as if HubSpot had told us it changed (a revisit date came due)."""
    event = {"eventId": int(now.timestamp() * 1000), "subscriptionId": 0, "portalId": int(portal_id or 0),
             "occurredAt": int(now.timestamp() * 1000), "subscriptionType": "handoff.rescore",
             "objectId": int(contact_id), "attemptNumber": 0}
    row = {"dedupe_key": key, "event_type": "handoff.rescore", "portal_id": portal_id, "object_id": contact_id,
           "occurred_at": now, "received_at": now, "lane": HOT_LANE, "state": "pending",
           "payload": json.dumps(event), "run_at": now, "attempts": 0}
    return insert_ignore(conn, inbox_events, [row], key="dedupe_key")
