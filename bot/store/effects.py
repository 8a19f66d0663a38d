"""The outbox: side effects recorded with a unique key in the deciding transaction, then executed once."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import Connection, select
from sqlalchemy.engine import Row

from bot.store.db import claim, claimable, insert_ignore, release
from bot.store.schema import effects

LEASE = timedelta(seconds=60)


def add_effect(conn: Connection, key: str, kind: str, payload: dict[str, Any], now: datetime,
               lead_id: int | None = None, run_at: datetime | None = None) -> bool:
    """Record a side effect to perform; the same key twice is one effect. True when it was new."""
    row = {"key": key, "kind": kind, "lead_id": lead_id, "payload": json.dumps(payload),
           "state": "pending", "created_at": now, "run_at": run_at or now, "attempts": 0}
    return insert_ignore(conn, effects, [row], key="key") == 1


def claim_effects(conn: Connection, now: datetime, limit: int = 50, lease: timedelta = LEASE) -> list[Row]:
    return claim(conn, effects, claimable(effects, now), [effects.c.id], limit=limit, lease=lease, now=now)


def complete_effect(conn: Connection, row: Row, now: datetime, result: dict | None = None,
                    state: str = "done") -> bool:
    return release(conn, effects, row, state=state, done_at=now,
                   result=json.dumps(result) if result is not None else None)


def retry_effect(conn: Connection, row: Row, run_at: datetime, error: str) -> bool:
    return release(conn, effects, row, run_at=run_at, last_error=error[:2000])


def fail_effect(conn: Connection, row: Row, now: datetime, error: str) -> bool:
    return release(conn, effects, row, state="failed", done_at=now, last_error=error[:2000])


def posted_messages(conn: Connection, lead_id: int) -> list[dict]:
    """Where a lead's card was posted ({channel, ts}), for in-place updates."""
    rows = conn.execute(select(effects.c.result).where(
        effects.c.lead_id == lead_id, effects.c.kind == "slack_card", effects.c.state == "done"))
    return [json.loads(r) for r in rows.scalars() if r]


def payload_of(row: Row) -> dict[str, Any]:
    return json.loads(row.payload)


def pending_effects(conn: Connection, kinds: Sequence[str] | None = None) -> list[Row]:
    query = select(effects).where(effects.c.state == "pending")
    if kinds:
        query = query.where(effects.c.kind.in_(kinds))
    return list(conn.execute(query.order_by(effects.c.id)))


def refresh_cards(conn: Connection, lead_id: int, now: datetime) -> None:
    """Edit the lead's posted cards to show its current state (keyed by the moment: each change is its own)."""
    add_effect(conn, f"lead:{lead_id}:update:{now.timestamp():.6f}", "slack_update_card", {"lead_id": lead_id}, now,
               lead_id=lead_id)
