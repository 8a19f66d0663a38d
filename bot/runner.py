"""The worker process's loop: inbox and outbox until told to stop (SIGTERM finishes the current batch)."""
from __future__ import annotations

import logging
import threading

from bot import outbox, worker
from bot.services import Services

log = logging.getLogger("handoff.runner")


def work_once(svc: Services) -> bool:
    """One pass over both queues; True when either had work."""
    handled_events = worker.process_one_batch(svc)
    handled_effects = outbox.run_one_batch(svc)
    return handled_events or handled_effects


def work_loop(svc: Services, stop: threading.Event) -> None:
    log.info("worker started")
    while not stop.is_set():
        try:
            busy = work_once(svc)
        except Exception:   # e.g. the database went away: wait and try again, never exit the loop
            log.exception("worker pass failed")
            busy = False
        if not busy:
            stop.wait(svc.settings.worker_poll_seconds)
    log.info("worker stopped")
