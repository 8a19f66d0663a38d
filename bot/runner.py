"""The worker process's loops: the inbox and the outbox, each on its own thread so a slow Slack never
holds back reading HubSpot, until told to stop (SIGTERM finishes the current batch)."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from bot import outbox, worker
from bot.services import Services

log = logging.getLogger("handoff.runner")


def work_loop(svc: Services, stop: threading.Event) -> None:
    """Run the inbox on this thread and the outbox on another until `stop` is set."""
    log.info("worker started")
    effects = threading.Thread(target=poll_loop, args=(svc, outbox.run_one_batch, stop), name="outbox")
    effects.start()
    poll_loop(svc, worker.process_one_batch, stop)
    effects.join()
    log.info("worker stopped")


def poll_loop(svc: Services, handle_one: Callable[[Services], bool], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            busy = handle_one(svc)
        except Exception:   # e.g. the database went away: wait and try again, never exit the loop
            log.exception("%s failed", getattr(handle_one, "__module__", "work"))
            busy = False
        if not busy:
            stop.wait(svc.settings.worker_poll_seconds)
