"""HubSpot's rate budget, respected before it is hit: every process counts its calls in one shared window
(HubSpot limits per app per 10 s, whatever number of workers share the token)."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Engine

from bot.store import kv

log = logging.getLogger("handoff.ratelimit")
WINDOW_SECONDS = 10
MAX_WAITS = 3


def shared_budget(engine: Engine, name: str, per_window: int,
                  clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                  sleep: Callable[[float], None] = time.sleep) -> Callable[[], None]:
    """A `before_call` hook: returns at once within budget, else waits for the next window (bounded)."""
    def before_call() -> None:
        for _ in range(MAX_WAITS):
            with engine.begin() as conn:
                used, left = kv.count_call(conn, name, clock(), WINDOW_SECONDS)
            if used <= per_window:
                return
            log.info("%s budget of %d calls per %d s used: waiting %.1f s", name, per_window, WINDOW_SECONDS, left)
            sleep(left)
    return before_call
