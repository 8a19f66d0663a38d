"""APScheduler setup: interval jobs only, in memory. Deadlines live in the database (DESIGN.md), so the
scheduler only decides WHEN to sweep; a missed or doubled tick loses or doubles nothing."""
from __future__ import annotations

import logging
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from bot.services import Services
from bot.sweeper import escalate_one

log = logging.getLogger("handoff.scheduler")


def drain(step: Callable[[], bool], limit: int = 10_000) -> int:
    """Run a handle_one-style function until it finds no work (bounded, so one tick cannot run forever)."""
    done = 0
    while done < limit and step():
        done += 1
    return done


def sweep(svc: Services) -> None:
    try:
        drain(lambda: escalate_one(svc))
    except Exception:   # the next tick tries again; a crashed job would stop the SLA clock for good
        log.exception("SLA sweep failed")


def start_scheduler(svc: Services) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    scheduler.add_job(sweep, "interval", args=[svc], seconds=svc.settings.sweep_interval_seconds,
                      id="sla-sweep", replace_existing=True)
    scheduler.start()
    return scheduler
