"""The web-events fetch stays inside its batch's lease: against a slow fake HubSpot it stops at its share of
the lease and puts the contacts it did not reach back through the inbox, so every contact is asked once and
no batch outlasts its lease (another worker would take it over). SQLite and PostgreSQL."""
from __future__ import annotations

import logging
import time
from collections import Counter

import pytest
from sqlalchemy import select

from bot import worker
from bot.store.inbox import DEBOUNCE
from bot.store.schema import inbox_events
from tests.harness import System, write_config
from tests.test_web_events import EVENTS, ROUTING, add_researcher, kept, pricing_views

CONTACTS = [str(n) for n in range(951, 959)]
LATENCY = 0.25      # seconds per HubSpot answer


def slow_system(engine, tmp_path, fake_hubspot, fake_slack, lease_seconds: float) -> System:
    system = System(engine, write_config(tmp_path / "config", routing=ROUTING), fake_hubspot, fake_slack,
                    lease_seconds=lease_seconds)
    for contact_id in CONTACTS:
        add_researcher(system, contact_id)
        pricing_views(system, contact_id, minutes_ago=(5,))
    system.post_webhook([system.event("contact.propertyChange", contact_id, property_name="jobtitle",
                                      property_value="x") for contact_id in CONTACTS])
    fake_hubspot.latency = LATENCY
    return system


def one_batch(system: System) -> float:
    """Run one worker batch; how long it took."""
    system.clock.advance(seconds=DEBOUNCE.total_seconds() + 0.01)
    started = time.monotonic()
    assert worker.process_one_batch(system.svc)
    return time.monotonic() - started


def inbox(system: System) -> list:
    with system.svc.engine.connect() as conn:
        return list(conn.execute(select(inbox_events).order_by(inbox_events.c.id)))


def asked(system: System) -> Counter:
    return Counter(call.query["objectId"] for call in system.hubspot.calls if call.path.startswith(EVENTS))


def test_a_slow_hubspot_makes_the_fetch_stop_in_time_and_the_rest_follows_once_each(
        engine, tmp_path, fake_hubspot, fake_slack):
    lease = 2.0
    system = slow_system(engine, tmp_path, fake_hubspot, fake_slack, lease)
    took = one_batch(system)
    assert took < lease                               # finished while its lease held
    first_round = asked(system)
    assert 0 < sum(first_round.values()) < len(CONTACTS)
    waiting = [row for row in inbox(system) if row.state == "pending"]
    webhooks = [row for row in inbox(system) if row.dedupe_key.startswith("hubspot:")]
    assert {(row.state, row.claim_token) for row in webhooks} == {("done", None)}   # finished, not retried
    assert sorted(row.object_id for row in waiting) == sorted(set(CONTACTS) - set(first_round))
    assert all(row.dedupe_key.startswith(f"web-events:{row.object_id}:") for row in waiting)
    fake_hubspot.latency = 0.0
    system.drain()
    assert asked(system) == Counter({contact_id: 1 for contact_id in CONTACTS})   # each once: none lost, none twice
    assert [kept(system, contact_id) for contact_id in CONTACTS] == [1] * len(CONTACTS)
    assert all(row.state == "done" for row in inbox(system))


def test_no_time_at_all_asks_nothing_and_queues_nothing(engine, tmp_path, fake_hubspot, fake_slack, caplog):
    system = slow_system(engine, tmp_path, fake_hubspot, fake_slack, lease_seconds=0.6)   # share: 0.3 s
    with caplog.at_level(logging.WARNING, logger="handoff.web_events"):
        one_batch(system)                             # the contact and company reads alone take 0.5 s
    assert asked(system) == Counter()
    assert [row.state for row in inbox(system)] == ["done"] * len(CONTACTS)   # no loop of re-queued contacts
    assert "no time left" in caplog.text
