"""The shared HubSpot budget: processes together never exceed it, and a full window waits, not fails."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.ratelimit import shared_budget
from bot.store.schema import counters
from tests.conftest import NOW


class FakeTime:
    def __init__(self) -> None:
        self.now, self.slept = NOW, []

    def clock(self):
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += timedelta(seconds=seconds)


def test_calls_within_the_budget_never_wait_and_the_next_one_waits_for_the_window(engine):
    time = FakeTime()
    one, two = (shared_budget(engine, "hubspot", 5, time.clock, time.sleep) for _ in range(2))
    for hook in (one, two, one, two, one):   # two "processes" share one budget
        hook()
    assert time.slept == []
    two()
    assert time.slept == [10.0]   # NOW is on a window boundary: the whole window is left


def test_a_new_window_starts_fresh_and_old_windows_are_cleared(engine):
    time = FakeTime()
    hook = shared_budget(engine, "hubspot", 2, time.clock, time.sleep)
    hook(), hook()
    time.now += timedelta(seconds=10)
    hook(), hook()
    assert time.slept == []
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).where(counters.c.name.like("hubspot@%"))).scalar_one()
    assert rows == 1
