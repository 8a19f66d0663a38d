"""HubSpot's summary fields: the pure computation as a table, then the properties arriving on the contact in the
fake HubSpot after Accept, touches (logged in Slack and in HubSpot) and decisions, with minutes from the fixed
clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from bot.models import to_utc_iso
from bot.summary import summary_fields
from integrations.hubspot.properties import HANDOFF_PROPERTIES
from tests.harness import System, add_people, wait_for, write_config

MQL = datetime(2026, 11, 18, 15, 0, tzinfo=timezone.utc)
SUMMARY = ("handoff_minutes_to_accept", "handoff_first_touch_at", "handoff_minutes_to_first_touch",
           "handoff_touches", "handoff_decided_at")


def lead_row(accepted: timedelta | None = None, touches: int = 0, decided: timedelta | None = None):
    return SimpleNamespace(became_mql_at=MQL, accepted_at=MQL + accepted if accepted is not None else None,
                           touches=touches, decided_at=MQL + decided if decided is not None else None)


@pytest.mark.parametrize("row, first_touch, expected", [
    (lead_row(), None, {"handoff_touches": "0"}),
    (lead_row(accepted=timedelta(minutes=2, seconds=10)), None,
     {"handoff_touches": "0", "handoff_minutes_to_accept": "2.2"}),
    (lead_row(accepted=timedelta(minutes=3), touches=2), timedelta(minutes=45),
     {"handoff_touches": "2", "handoff_minutes_to_accept": "3", "handoff_first_touch_at": "2026-11-18T15:45:00.000Z",
      "handoff_minutes_to_first_touch": "45"}),
    # A touch logged before Accept, and a decision two days later.
    (lead_row(accepted=timedelta(hours=1), touches=1, decided=timedelta(days=2)), timedelta(seconds=30),
     {"handoff_touches": "1", "handoff_minutes_to_accept": "60", "handoff_first_touch_at": "2026-11-18T15:00:30.000Z",
      "handoff_minutes_to_first_touch": "0.5", "handoff_decided_at": "2026-11-20T15:00:00.000Z"}),
])
def test_summary_fields_leave_out_steps_not_reached(row, first_touch, expected):
    assert summary_fields(row, MQL + first_touch if first_touch is not None else None) == expected


def test_every_summary_field_is_a_property_setup_hubspot_creates():
    specs = {spec.name: spec for spec in HANDOFF_PROPERTIES}
    assert set(SUMMARY) <= set(specs)
    assert {specs[name].type for name in SUMMARY} == {"number", "datetime"}


ROUTING = """\
sdr_pool: ["201"]
ae_pool: ["401"]
managers: ["UMANAGER"]
slack_users: {"401": "U0AE1"}
channels: {leads: "C0LEADS", managers: "C0MGRS", fallback: "C0FALLBACK", ops: "C0OPS"}
"""


@pytest.fixture
def system(sqlite_engine, tmp_path, fake_hubspot, fake_slack):
    add_people(fake_hubspot, fake_slack, "201", "401")
    return System(sqlite_engine, write_config(tmp_path / "config", routing=ROUTING), fake_hubspot, fake_slack)


def on_contact(system: System, contact_id: str = "801") -> dict:
    return {name: value for name, value in system.hubspot.contacts[contact_id].items() if name in SUMMARY}


def log_touch(system: System, lead_id: int, kind: str = "call") -> None:
    system.submit("touch_submit", lead_id, "U0REP1", {
        "touch_kind": {"touch_kind": {"type": "static_select", "selected_option": {
            "text": {"type": "plain_text", "text": kind}, "value": kind}}},
        "touch_note": {"touch_note": {"type": "plain_text_input", "value": None}}})


def test_accept_touches_and_the_decision_reach_the_contact(system):
    lead_id = system.new_lead("801")
    mql_at = system.leads()[0].became_mql_at
    assert on_contact(system) == {}   # nothing to summarise before Accept
    system.clock.now = mql_at + timedelta(minutes=2, seconds=30)
    system.click("accept_lead", lead_id, "U0REP1")
    wait_for(lambda: system.leads()[0].status == "accepted")
    system.drain()
    assert on_contact(system) == {"handoff_touches": "0", "handoff_minutes_to_accept": "2.5"}
    system.clock.now = mql_at + timedelta(minutes=20)
    log_touch(system, lead_id)
    system.clock.now = mql_at + timedelta(minutes=50)
    log_touch(system, lead_id, "email")
    system.drain()
    first_touch = mql_at + timedelta(minutes=20)
    assert on_contact(system) == {"handoff_touches": "2", "handoff_minutes_to_accept": "2.5",
                                  "handoff_first_touch_at": to_utc_iso(first_touch),
                                  "handoff_minutes_to_first_touch": "20"}
    system.clock.now = decided = mql_at + timedelta(hours=3)
    system.submit("disqualify_submit", lead_id, "U0REP1", {
        "dq_reason": {"dq_reason": {"type": "static_select", "selected_option": {
            "text": {"type": "plain_text", "text": "No budget"}, "value": "No budget"}}},
        "dq_other": {"dq_other": {"type": "plain_text_input", "value": None}}})
    system.drain()
    contact = system.hubspot.contacts["801"]
    assert contact["handoff_decided_at"] == to_utc_iso(decided)
    assert (contact["handoff_decision"], contact["handoff_dq_reason"], contact["handoff_touches"]) == (
        "disqualified", "No budget", "2")
    assert not system.effects("failed")


def test_a_touch_logged_in_hubspot_updates_the_summary_once(system):
    lead_id = system.new_lead("801")
    mql_at = system.leads()[0].became_mql_at
    system.clock.now = mql_at + timedelta(minutes=7)
    system.hubspot.contacts["801"]["num_contacted_notes"] = "1"
    system.hubspot.contacts["801"]["hs_last_sales_activity_timestamp"] = "2026-11-18T15:06:00.000Z"
    system.hubspot.add_engagement("calls", "7001", "801", hs_timestamp="2026-11-18T15:06:00.000Z",   # the rep's call
                                  hubspot_owner_id=system.leads()[0].owner_id, hs_call_direction="OUTBOUND")
    event = system.event("contact.propertyChange", "801", property_name="num_contacted_notes", property_value="1")
    system.post_webhook([event])
    system.drain()
    called_at = datetime(2026, 11, 18, 15, 6, tzinfo=timezone.utc)   # when the rep called, not when we heard
    assert on_contact(system) == {"handoff_touches": "1", "handoff_first_touch_at": to_utc_iso(called_at),
                                  "handoff_minutes_to_first_touch": "6"}   # 15:06 less an MQL at 15:00:00.51
    summaries = [e for e in system.effects() if e.key.startswith(f"lead:{lead_id}:summary:")]
    system.post_webhook([event])   # HubSpot delivers the same change again: no new touch, nothing written
    system.drain()
    assert [e for e in system.effects() if e.key.startswith(f"lead:{lead_id}:summary:")] == summaries
    assert system.leads()[0].touches == 1


def test_an_older_summary_write_retried_after_a_newer_one_writes_the_summary_as_it_stands(system):
    from sqlalchemy import update

    from bot.store.schema import effects
    lead_id = system.new_lead("801")
    mql_at = system.leads()[0].became_mql_at
    system.clock.now = mql_at + timedelta(minutes=2)
    system.click("accept_lead", lead_id, "U0REP1")
    wait_for(lambda: system.leads()[0].status == "accepted")
    system.clock.now = mql_at + timedelta(minutes=20)
    log_touch(system, lead_id)
    system.drain()
    after_one_touch = [e for e in system.effects() if e.key.startswith(f"lead:{lead_id}:summary:")][-1]
    system.clock.now = mql_at + timedelta(minutes=50)
    log_touch(system, lead_id, "email")
    system.drain()
    assert on_contact(system)["handoff_touches"] == "2"
    # The first touch's write runs again, as a retry whose earlier answer was lost would, after the second's.
    with system.svc.engine.begin() as conn:
        conn.execute(update(effects).where(effects.c.id == after_one_touch.id).values(
            state="pending", run_at=system.clock.now, done_at=None))
    system.drain()
    assert next(e for e in system.effects() if e.id == after_one_touch.id).state == "done"
    assert on_contact(system)["handoff_touches"] == "2"
