"""Start a lead's SLA clocks: the deadlines bot.sla computes, as rows the sweeper claims."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import Connection

from bot import sla as sla_core
from bot.business_time import BusinessCalendar
from bot.store import deadlines

ALL = (sla_core.ACCEPT, sla_core.FIRST_TOUCH, sla_core.CADENCE)


def start_clocks(svc, conn: Connection, lead_id: int, high_intent: bool, now: datetime,
                 kinds: Iterable[str] = ALL) -> None:
    """Accept (wall clock; the fast lane for high intent), first touch (business time), the cadence window."""
    sla = svc.config.sla
    wanted = set(kinds)
    for clock in sla_core.deadlines_for_new_lead(sla, BusinessCalendar.from_sla(sla), now, high_intent):
        if clock.kind in wanted:
            deadlines.open_deadline(conn, lead_id=lead_id, kind=clock.kind, started_at=clock.started_at,
                                    due_at=clock.due_at, first_step_at=clock.first_step_at, now=now)
