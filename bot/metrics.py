"""Prometheus text for /metrics: queue depths from the database (shared by every process) plus this
process's request counters."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.store.schema import deadlines, effects, inbox_events, leads

GAUGES = {
    "handoff_inbox_pending": ("Webhook events waiting for the worker",
                              select(func.count()).where(inbox_events.c.state == "pending")),
    "handoff_inbox_dead": ("Webhook events given up on after repeated failures",
                           select(func.count()).where(inbox_events.c.state == "dead")),
    "handoff_effects_pending": ("HubSpot writes and Slack posts waiting to be performed",
                                select(func.count()).where(effects.c.state == "pending")),
    "handoff_effects_failed": ("Side effects that failed for good",
                               select(func.count()).where(effects.c.state == "failed")),
    "handoff_leads_open": ("Leads not yet accepted or closed",
                           select(func.count()).where(leads.c.status == "new")),
    "handoff_leads_accepted": ("Leads accepted and still open",
                               select(func.count()).where(leads.c.status == "accepted")),
}


def render_metrics(svc, requests: Counter) -> str:
    lines: list[str] = []
    up = _gauges(svc, lines, svc.clock())
    lines += ["# HELP handoff_database_up 1 when the database answered this scrape", "# TYPE handoff_database_up gauge",
              f"handoff_database_up {int(up)}",
              "# HELP handoff_http_requests_total Requests answered by this process",
              "# TYPE handoff_http_requests_total counter"]
    lines += [f'handoff_http_requests_total{{route="{route}",status="{status}"}} {count}'
              for (route, status), count in sorted(requests.items())]
    return "\n".join(lines) + "\n"


def _gauges(svc, lines: list[str], now: datetime) -> bool:
    try:
        with svc.engine.connect() as conn:
            values = {name: conn.execute(query).scalar_one() for name, (_, query) in GAUGES.items()}
            overdue = conn.execute(select(func.count()).where(
                deadlines.c.state == "pending", deadlines.c.due_at < now)).scalar_one()
    except SQLAlchemyError:
        return False
    values["handoff_deadlines_overdue"] = overdue
    helps = {name: help_text for name, (help_text, _) in GAUGES.items()}
    helps["handoff_deadlines_overdue"] = "Accept deadlines passed on leads still waiting"
    for name, value in values.items():
        lines += [f"# HELP {name} {helps[name]}", f"# TYPE {name} gauge", f"{name} {value}"]
    return True
