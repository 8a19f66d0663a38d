"""APScheduler setup: interval jobs only, in memory. Deadlines and reviews live in the database (DESIGN.md), so
the scheduler only decides WHEN to look; a missed or doubled tick loses or doubles nothing."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from bot.review import queue_due_review
from bot.services import Services
from bot.sweeper import escalate_one

log = logging.getLogger("handoff.scheduler")
# How often a worker looks for a leadership review that is due: a review lands within a minute of its time.
REVIEW_CHECK_SECONDS = 60


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


def review(svc: Services) -> None:
    try:
        queue_due_review(svc)
    except Exception:   # the next tick tries again (the review's key keeps it to one post)
        log.exception("queueing the review failed")


def start_scheduler(svc: Services) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    scheduler.add_job(sweep, "interval", args=[svc], seconds=svc.settings.sweep_interval_seconds,
                      id="sla-sweep", replace_existing=True)
    # First look at start: a review that fell due while Handoff was down goes out now, once.
    scheduler.add_job(review, "interval", args=[svc], seconds=REVIEW_CHECK_SECONDS, id="review",
                      replace_existing=True, next_run_time=datetime.now(timezone.utc))
    scheduler.start()
    return scheduler
