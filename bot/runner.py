"""The worker process's loops: the inbox and the outbox, each on its own thread so a slow Slack never
holds back reading HubSpot, until told to stop (SIGTERM finishes the current batch)."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from bot import outbox, worker
from bot.services import Services

log = logging.getLogger("handoff.runner")


CONFIG_CHECK_SECONDS = 2.0


def work_loop(svc: Services, stop: threading.Event) -> None:
    """Run the inbox on this thread and the outbox on another until `stop` is set."""
    log.info("worker started")
    watch_config(svc, stop)
    effects = threading.Thread(target=poll_loop, args=(svc, outbox.run_one_batch, stop), name="outbox")
    effects.start()
    poll_loop(svc, worker.process_one_batch, stop)
    effects.join()
    log.info("worker stopped")


def watch_config(svc: Services, stop: threading.Event) -> threading.Thread:
    """Marketing ops' edits apply within seconds, without a restart (a broken edit is refused and logged)."""
    def loop() -> None:
        while not stop.wait(CONFIG_CHECK_SECONDS):
            try:
                svc.refresh_config()
            except OSError:
                log.exception("config files could not be read")
    thread = threading.Thread(target=loop, name="config-watch", daemon=True)
    thread.start()
    return thread


def poll_loop(svc: Services, handle_one: Callable[[Services], bool], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            busy = handle_one(svc)
        except Exception:   # e.g. the database went away: wait and try again, never exit the loop
            log.exception("%s failed", getattr(handle_one, "__module__", "work"))
            busy = False
        if not busy:
            stop.wait(svc.settings.worker_poll_seconds)
