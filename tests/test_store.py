"""Store tests: every one runs on SQLite and on PostgreSQL (the `engine` fixture is parametrized)."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from bot.models import Score
from bot.store import deadlines, effects, inbox, kv, leads
from bot.store.schema import inbox_events
from integrations.hubspot.events import parse_batch
from tests.conftest import NOW


def events(*specs: tuple[int, str, str]) -> list:
    """(eventId, objectId, propertyName or '') -> parsed WebhookEvents."""
    raw = [{"eventId": eid, "subscriptionId": 7, "portalId": 62515, "appId": 9, "occurredAt": 1764000000000,
            "subscriptionType": "contact.propertyChange" if prop else "contact.creation", "attemptNumber": 0,
            "objectId": int(oid), **({"propertyName": prop, "propertyValue": "x"} if prop else {})}
           for eid, oid, prop in specs]
    parsed, problems = parse_batch(json.dumps(raw).encode())
    assert problems == []
    return parsed


def score(contact_id: str = "1") -> Score:
    return Score(contact_id=contact_id, total=120, fit=60, engagement=60, is_mql=True, high_intent=False,
                 reasons=(), gates_failed=(), last_engaged_at=NOW, summary="warm", computed_at=NOW)


def test_a_redelivered_event_is_stored_once(engine):
    batch = events((1, "10", "jobtitle"), (2, "11", ""))
    with engine.begin() as conn:
        assert inbox.store_events(conn, batch, NOW) == 2
    with engine.begin() as conn:   # HubSpot retries the same events (any attemptNumber)
        assert inbox.store_events(conn, batch + batch, NOW) == 0
        assert conn.execute(select(func.count()).select_from(inbox_events)).scalar_one() == 2


def test_claim_takes_every_due_event_of_a_contact_hot_lane_first(engine):
    with engine.begin() as conn:
        inbox.store_events(conn, events((1, "10", "hs_analytics_num_page_views"),
                                        (2, "10", "jobtitle"), (3, "11", "")), NOW)
    with engine.begin() as conn:   # normal-lane events are debounced; the creation (hot) is due now
        first = inbox.claim_contact_batch(conn, NOW, max_contacts=1)
    assert [r.object_id for r in first] == ["11"]
    later = NOW + inbox.DEBOUNCE + timedelta(milliseconds=1)
    with engine.begin() as conn:
        second = inbox.claim_contact_batch(conn, later)
    assert sorted(r.dedupe_key for r in second) == ["hubspot:62515:7:1", "hubspot:62515:7:2"]
    assert all(r.attempts == 1 for r in second)


def test_an_expired_lease_is_claimed_again_and_the_zombie_cannot_finish(engine):
    with engine.begin() as conn:
        inbox.store_events(conn, events((1, "10", "")), NOW)
    with engine.begin() as conn:
        zombie = inbox.claim_contact_batch(conn, NOW)
    with engine.begin() as conn:   # still leased: nobody else gets it
        assert inbox.claim_contact_batch(conn, NOW + timedelta(seconds=1)) == []
    after_lease = NOW + inbox.LEASE + timedelta(seconds=1)
    with engine.begin() as conn:
        rescued = inbox.claim_contact_batch(conn, after_lease)
    assert [r.attempts for r in rescued] == [2]
    with engine.begin() as conn:
        assert inbox.finish_events(conn, zombie, after_lease) == 0
        assert inbox.finish_events(conn, rescued, after_lease) == 1


def test_two_workers_never_claim_the_same_event(engine):
    with engine.begin() as conn:
        inbox.store_events(conn, events(*[(i, str(100 + i % 40), "") for i in range(200)]), NOW)
    claimed: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        while True:
            with engine.begin() as conn:
                rows = inbox.claim_contact_batch(conn, NOW, max_contacts=3)
                if not rows:
                    return
                inbox.finish_events(conn, rows, NOW)
            with lock:
                claimed.extend(r.dedupe_key for r in rows)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 200 and len(set(claimed)) == 200


def test_one_open_lead_per_contact_and_accept_happens_once(engine):
    with engine.begin() as conn:
        lead_id = leads.create_lead(conn, contact_id="1", portal_id="62515", score=score(), owner_id="101",
                                    route_why="owner", card={}, now=NOW)
        assert leads.create_lead(conn, contact_id="1", portal_id="62515", score=score(), owner_id="101",
                                 route_why="owner", card={}, now=NOW) is None
        assert leads.mark_accepted(conn, lead_id, "U1", NOW) is True
        assert leads.mark_accepted(conn, lead_id, "U2", NOW) is False
        assert leads.get_lead(conn, lead_id).accepted_by == "U1"
        assert leads.close_lead(conn, lead_id, "gone", NOW) is True
        assert leads.open_lead_for(conn, "1") is None   # closed: the contact may become an MQL again
        assert leads.create_lead(conn, contact_id="1", portal_id=None, score=score(), owner_id=None,
                                 route_why="pool", card={}, now=NOW) is not None


def test_a_merged_contacts_lead_follows_the_surviving_id(engine):
    with engine.begin() as conn:
        lead_id = leads.create_lead(conn, contact_id="5", portal_id=None, score=score("5"), owner_id=None,
                                    route_why="pool", card={}, now=NOW)
        assert leads.rekey_contact(conn, "5", "9", NOW) == [lead_id]
        assert leads.open_lead_for(conn, "9").id == lead_id
        assert leads.open_lead_for(conn, "5") is None


def test_an_effect_key_is_recorded_once(engine):
    with engine.begin() as conn:
        assert effects.add_effect(conn, "lead:1:card:assignee", "slack_card", {"lead_id": 1}, NOW) is True
        assert effects.add_effect(conn, "lead:1:card:assignee", "slack_card", {"lead_id": 1}, NOW) is False
        claimed = effects.claim_effects(conn, NOW)
        assert [r.key for r in claimed] == ["lead:1:card:assignee"]
        assert effects.complete_effect(conn, claimed[0], NOW, {"channel": "D1", "ts": "1.2"})
        assert effects.claim_effects(conn, NOW + timedelta(hours=1)) == []


def test_round_robin_turns_are_shared_and_wrap(engine):
    with engine.begin() as conn:
        turns = [kv.take_turn(conn, "sdr_pool", 3) for _ in range(7)]
    assert turns == [0, 1, 2, 0, 1, 2, 0]


def test_a_throttle_keeps_the_later_block(engine):
    with engine.begin() as conn:
        kv.block(conn, "hubspot", NOW + timedelta(seconds=10))
        kv.block(conn, "hubspot", NOW + timedelta(seconds=5))
        assert kv.blocked_until(conn, "hubspot") == NOW + timedelta(seconds=10)


def test_deadline_steps_are_claimed_once_and_cancelled_by_accept(engine):
    with engine.begin() as conn:
        deadlines.open_deadline(conn, lead_id=1, kind="accept", started_at=NOW, due_at=NOW + timedelta(minutes=5),
                                first_step_at=NOW + timedelta(minutes=5), now=NOW)
        assert deadlines.claim_due_deadline(conn, NOW) is None   # not due yet
    due = NOW + timedelta(minutes=5)
    with engine.begin() as conn:
        row = deadlines.claim_due_deadline(conn, due)
        assert row.step == 0
        assert deadlines.advance(conn, row, due + timedelta(minutes=5), due)
    with engine.begin() as conn:
        assert deadlines.claim_due_deadline(conn, due) is None
        assert deadlines.cancel_for_lead(conn, 1, due) == 1
        assert deadlines.claim_due_deadline(conn, due + timedelta(hours=1)) is None


def test_concurrent_sweepers_take_each_step_once(engine):
    with engine.begin() as conn:
        for lead_id in range(60):
            deadlines.open_deadline(conn, lead_id=lead_id, kind="accept", started_at=NOW, due_at=NOW,
                                    first_step_at=NOW, now=NOW)
    taken: list[int] = []
    lock = threading.Lock()

    def sweep() -> None:
        while True:
            with engine.begin() as conn:
                row = deadlines.claim_due_deadline(conn, NOW)
                if row is None:
                    return
                deadlines.advance(conn, row, None, NOW)
            with lock:
                taken.append(row.lead_id)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(60))


def test_inbox_rows_keep_the_raw_event(engine):
    with engine.begin() as conn:
        inbox.store_events(conn, events((1, "10", "jobtitle")), NOW)
        conn.execute(update(inbox_events).values(state="pending"))
        payload = json.loads(conn.execute(select(inbox_events.c.payload)).scalar_one())
    assert payload["propertyName"] == "jobtitle" and payload["objectId"] == 10
