"""SLA deadlines as rows. The sweeper claims one due step at a time; an Accept cancels what is pending."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import Connection, func, select, update
from sqlalchemy.engine import Row

from bot.store.db import claim, claimable, release
from bot.store.schema import deadlines

LEASE = timedelta(seconds=60)


def open_deadline(conn: Connection, *, lead_id: int, kind: str, started_at: datetime, due_at: datetime,
                  first_step_at: datetime, now: datetime) -> None:
    conn.execute(deadlines.insert().values(
        lead_id=lead_id, kind=kind, started_at=started_at, due_at=due_at, step=0, state="pending",
        run_at=first_step_at, updated_at=now, attempts=0))


def claim_due_deadline(conn: Connection, now: datetime) -> Row | None:
    """Lease the most overdue step (SKIP LOCKED on PostgreSQL): two sweepers never take the same one."""
    rows = claim(conn, deadlines, claimable(deadlines, now), [deadlines.c.run_at], limit=1,
                 lease=LEASE, now=now)
    return rows[0] if rows else None


def advance(conn: Connection, row: Row, next_run_at: datetime | None, now: datetime) -> bool:
    """Move to the next step, or finish when there is none. Fenced by the claim."""
    if next_run_at is None:
        return release(conn, deadlines, row, state="done", step=row.step + 1, updated_at=now)
    return release(conn, deadlines, row, step=row.step + 1, run_at=next_run_at, updated_at=now)


def end(conn: Connection, row: Row, state: str, now: datetime) -> bool:
    return release(conn, deadlines, row, state=state, updated_at=now)


def cancel_for_lead(conn: Connection, lead_id: int, now: datetime, kinds: tuple[str, ...] | None = None) -> int:
    """Cancel a lead's pending deadlines (only those of `kinds` when given); the sweeper's claim then loses."""
    query = update(deadlines).where(deadlines.c.lead_id == lead_id, deadlines.c.state == "pending")
    if kinds:
        query = query.where(deadlines.c.kind.in_(kinds))
    return conn.execute(query.values(state="cancelled", updated_at=now)).rowcount


def postpone_for_lead(conn: Connection, lead_id: int, pause: timedelta, now: datetime) -> int:
    """A snooze pauses the SLA clock: every pending step and due time moves on by the pause.

    Row by row in Python: date arithmetic in SQL is spelled differently on SQLite and PostgreSQL.
    """
    rows = conn.execute(select(deadlines).where(deadlines.c.lead_id == lead_id, deadlines.c.state == "pending"))
    moved = 0
    for row in rows.all():
        moved += conn.execute(update(deadlines).where(deadlines.c.id == row.id, deadlines.c.state == "pending")
                              .values(run_at=row.run_at + pause, due_at=row.due_at + pause,
                                      started_at=row.started_at + pause, updated_at=now)).rowcount
    return moved


def overdue_count(conn: Connection, now: datetime) -> int:
    return conn.execute(select(func.count()).where(deadlines.c.state == "pending",
                                                   deadlines.c.due_at < now)).scalar_one()


SLA_LABELS = {"accept": "Accept", "first_touch": "First touch"}


def slas_of(conn: Connection, lead_ids: Sequence[int], now: datetime) -> dict[int, dict | None]:
    """The next SLA due time of many leads in one query (a rep's queue must answer within Slack's 3 s)."""
    found: dict[int, dict | None] = {lead_id: None for lead_id in lead_ids}
    rows = conn.execute(select(deadlines).where(deadlines.c.lead_id.in_(list(lead_ids)),
                                                deadlines.c.state == "pending",
                                                deadlines.c.kind.in_(tuple(SLA_LABELS)))
                        .order_by(deadlines.c.due_at.desc()))
    for row in rows:   # the earliest due time of each lead is written last
        found[row.lead_id] = {"label": f"{SLA_LABELS[row.kind]} by {row.due_at:%H:%M} UTC",
                              "due_at": row.due_at.isoformat(), "overdue": row.due_at < now}
    return found
