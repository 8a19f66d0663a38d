"""Why a deadline was missed counts only Slack tries that finished and failed: the outbox counts a try when it
claims the row, so a card whose first post is still under way when the deadline passes has failed nothing yet.
Runs on SQLite and PostgreSQL (the claim is the store's own)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import outbox, worker
from bot.store import effects
from bot.store.schema import lead_events
from tests.harness import System, add_people, write_config

CARD_POST_TAKES = timedelta(hours=1)   # a Slack post stuck that long keeps its claim past the accept deadline


@pytest.fixture
def system(engine, tmp_path, fake_hubspot, fake_slack) -> System:
    add_people(fake_hubspot, fake_slack, "201")
    return System(engine, write_config(tmp_path / "config"), fake_hubspot, fake_slack)


def decide_lead_without_sending(system: System, contact_id: str) -> int:
    """The worker turns a demo request into a lead and records its cards; the outbox has not run yet."""
    system.add_warm_contact(contact_id, owner_id="201")
    system.post_webhook([system.demo_request(contact_id)])
    system.clock.advance(minutes=1)   # past the inbox's debounce
    while worker.process_one_batch(system.svc):
        pass
    return system.leads()[-1].id


def breaches(system: System, lead_id: int) -> list[dict]:
    with system.svc.engine.connect() as conn:
        rows = conn.execute(select(lead_events.c.detail).where(lead_events.c.lead_id == lead_id,
                                                               lead_events.c.kind == "breach"))
        return [json.loads(detail) for detail in rows.scalars()]


def test_a_card_whose_first_post_is_still_running_is_not_a_slack_failure(system):
    lead_id = decide_lead_without_sending(system, "951")
    # An outbox worker claims the cards and is still waiting on Slack when the accept deadline (5 min) passes.
    with system.svc.engine.begin() as conn:
        claimed = effects.claim_effects(conn, system.clock(), lease=CARD_POST_TAKES)
    assert f"lead:{lead_id}:card:assignee" in {row.key for row in claimed}
    assert {row.attempts for row in claimed} == {1}
    system.clock.advance(minutes=6)
    assert system.sweep() >= 1
    [breach] = breaches(system, lead_id)
    assert (breach["cause"], breach["words"]) == ("system", "Our alert never went out"), breach


def test_a_card_whose_retry_is_running_counts_only_the_try_that_failed(system):
    lead_id = decide_lead_without_sending(system, "952")
    system.slack.fail_next("chat.postMessage", status=503, times=2)   # the DM and the channel copy fail once
    assert outbox.run_one_batch(system.svc)
    system.clock.advance(seconds=5)                                    # past the first retry's backoff
    with system.svc.engine.begin() as conn:
        claimed = effects.claim_effects(conn, system.clock(), lease=CARD_POST_TAKES)
    assert {row.attempts for row in claimed if row.key == f"lead:{lead_id}:card:assignee"} == {2}
    system.clock.advance(minutes=6)
    assert system.sweep() >= 1
    [breach] = breaches(system, lead_id)
    assert breach["cause"] == "system"
    assert breach["words"] == ("Slack failed once (last: HTTP 503); the alert had not gone out when the deadline "
                               "passed"), breach
