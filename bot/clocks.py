"""Start a lead's SLA clocks: the deadlines bot.sla computes, as rows the sweeper claims."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import Connection

from bot import sla as sla_core
from bot.calendars import calendar_of
from bot.store import deadlines, leads

ALL = (sla_core.ACCEPT, sla_core.FIRST_TOUCH, sla_core.CADENCE)


def start_clocks(svc, conn: Connection, lead_id: int, high_intent: bool, now: datetime,
                 kinds: Iterable[str] = ALL) -> None:
    """Accept (wall clock; the fast lane for high intent), first touch (business time), the cadence window.

    Business time runs on the calendar of the lead's owner as it is now (a reassign starts fresh clocks on the
    new rep's calendar); a lead nobody owns runs on the company's.
    """
    sla = svc.config.sla
    calendar = calendar_of(sla, svc.config.routing, leads.get_lead(conn, lead_id).owner_id)
    wanted = set(kinds)
    for clock in sla_core.deadlines_for_new_lead(sla, calendar, now, high_intent):
        if clock.kind in wanted:
            deadlines.open_deadline(conn, lead_id=lead_id, kind=clock.kind, started_at=clock.started_at,
                                    due_at=clock.due_at, first_step_at=clock.first_step_at, now=now)
