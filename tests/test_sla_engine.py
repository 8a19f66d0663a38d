"""The SLA, enforced end to end: fast lane, first touch in business time, touches from HubSpot, the ladder's
reassign, the cadence recycle, why a deadline was missed, and a rep's day of misses."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.ledger import ledger_rows, write
from bot.store.schema import deadlines, lead_events

from tests.harness import System, add_people, wait_for, write_config

ROUTING = """\
sdr_pool: ["201", "202"]
managers: ["UMANAGER"]
slack_users: {}
channels: {leads: "C0LEADS", managers: "C0MGRS", fallback: "C0FALLBACK", ops: "C0OPS"}
ae_pool: ["401"]
"""


@pytest.fixture
def make_system(sqlite_engine, tmp_path, fake_hubspot, fake_slack):
    add_people(fake_hubspot, fake_slack, "201", "202")

    def make(sla_changes: dict[str, str] | None = None, routing: str = ROUTING) -> System:
        config = write_config(tmp_path / "config", routing=routing)
        sla = (config / "sla.yaml").read_text()
        for old, new in (sla_changes or {}).items():
            assert old in sla, old
            sla = sla.replace(old, new)
        (config / "sla.yaml").write_text(sla)
        return System(sqlite_engine, config, fake_hubspot, fake_slack)
    return make


# The second rep works from Berlin (routing.yaml's working hours: their calendar's zone and hours).
BERLIN_REP_ROUTING = ROUTING.replace('sdr_pool: ["201", "202"]', 'sdr_pool: ["201", {owner: "202", timezone: '
                                     'Europe/Berlin, hours: {mon-fri: "08:00-17:00"}}]')
BERLIN = ZoneInfo("Europe/Berlin")


def open_lead(system: System, contact_id: str = "901", owner_id: str | None = None, **event_fields) -> int:
    return system.new_lead(contact_id, owner_id=owner_id, event_fields=event_fields)


def run_due(system: System) -> int:
    swept = system.sweep()
    system.drain()
    return swept


def journey(system: System, lead_id: int, kind: str) -> list[dict]:
    with system.svc.engine.connect() as conn:
        rows = conn.execute(select(lead_events).where(lead_events.c.lead_id == lead_id, lead_events.c.kind == kind))
        return [json.loads(row.detail) | {"actor": row.actor} for row in rows]


def test_a_high_intent_lead_gets_the_fast_lane(make_system):
    system = make_system({"\naccept_within: 5m ": "\naccept_within: 1h ", "fast_lane_accept_within: 5m":
                          "fast_lane_accept_within: 3m"})
    open_lead(system)
    system.clock.advance(minutes=3, seconds=1)
    assert run_due(system) == 1
    assert len(system.posts("D")) == 2   # the card, then the reminder at 3 min, not 1 h


def test_first_touch_is_due_in_business_hours_and_a_logged_touch_stops_it(make_system):
    system = make_system()
    lead_id = open_lead(system)
    system.click("accept_lead", lead_id, "U0REP1")
    wait_for(lambda: system.leads()[0].status == "accepted")
    system.clock.advance(minutes=59)
    assert run_due(system) == 0
    system.clock.advance(minutes=2)
    assert run_due(system) == 2   # remind the rep, tell the managers
    escalation = system.posts("C0MGRS")[-1]
    assert "Why late (human): No action by the rep" in json.dumps(escalation["blocks"])
    assert [b["cause"] for b in journey(system, lead_id, "breach")] == ["human"]


def test_a_touch_logged_in_hubspot_counts_and_stops_the_first_touch_clock(make_system):
    system = make_system()
    lead_id = open_lead(system)
    system.hubspot.contacts["901"]["num_contacted_notes"] = "1"
    system.hubspot.contacts["901"]["hs_last_sales_activity_timestamp"] = "2026-11-18T15:10:00.000Z"
    system.hubspot.add_engagement("calls", "7001", "901", hs_timestamp="2026-11-18T15:10:00.000Z",   # the rep's call
                                  hubspot_owner_id=system.leads()[0].owner_id, hs_call_direction="OUTBOUND")
    system.post_webhook([system.event("contact.propertyChange", "901", property_name="num_contacted_notes",
                                      property_value="1")])
    system.drain()
    assert system.leads()[0].touches == 1
    system.clock.advance(hours=2)
    run_due(system)
    assert not any(b["deadline"] == "first_touch" for b in journey(system, lead_id, "breach"))


def test_the_ladder_reassigns_to_the_next_in_the_pool(make_system):
    system = make_system({"  - {at: 200%, do: notify_managers}  #": "  - {at: 150%, do: reassign}  #"})
    lead_id = open_lead(system)
    system.clock.advance(minutes=7, seconds=31)
    run_due(system)
    lead = system.leads()[0]
    assert (lead.id, lead.owner_id, lead.assignee, lead.status) == (lead_id, "202", "U0REP2", "new")
    assert journey(system, lead_id, "reassigned")[0]["reason"] == "Not accepted in time (SLA)"


def test_an_exhausted_cadence_recycles_the_lead_with_its_reason(make_system):
    system = make_system()
    lead_id = open_lead(system)
    system.click("accept_lead", lead_id, "U0REP1")
    wait_for(lambda: system.leads()[0].status == "accepted")
    system.submit("touch_submit", lead_id, "U0REP1", {"touch_kind": {"touch_kind": {
        "type": "static_select", "selected_option": {"value": "call", "text": {"type": "plain_text", "text": "c"}}}}})
    system.clock.advance(days=15)
    run_due(system)
    lead = system.leads()[0]
    assert (lead.status, lead.decision) == ("recycled", "no_response")
    assert lead.decision_reason.startswith("No response after 1 touch (the SLA asks for 7")
    writes = [p for _, p in system.hubspot.updates if p.get("handoff_decision") == "no_response"]
    assert writes[0]["hs_lead_status"] == "ATTEMPTED_TO_CONTACT" and writes[0]["handoff_dq_reason"]
    assert "Recycled to nurture" in system.posts("C0OPS")[-1]["text"]


def test_a_late_webhook_is_the_systems_fault_not_the_reps(make_system):
    system = make_system()
    occurred = int((system.clock.now - timedelta(minutes=4)).timestamp() * 1000)
    lead_id = open_lead(system, occurred_at_ms=occurred)
    system.clock.advance(minutes=5, seconds=1)
    run_due(system)
    breach = journey(system, lead_id, "breach")[0]
    assert breach["cause"] == "system" and breach["words"] == "Webhook delivery took 4 min"


def test_three_misses_in_a_day_mark_the_rep_away_and_tell_the_managers(make_system):
    system = make_system({"  - {at: 200%, do: notify_managers}  # notify_managers, or reassign (to the next rep in the pool)\n": ""})
    for contact_id in ("911", "912", "913"):
        open_lead(system, contact_id, owner_id="201")
    system.clock.advance(minutes=5, seconds=1)
    run_due(system)
    assert "U0REP1" in system.posts("C0MGRS")[-1]["text"] and "marked away" in system.posts("C0MGRS")[-1]["text"]
    away = system.command("U0REP1", "mine")   # still works while away
    assert away.status_code == 200


def test_the_ledger_has_every_step_of_a_leads_journey(make_system):
    system = make_system()
    occurred = int((system.clock.now - timedelta(seconds=30)).timestamp() * 1000)
    lead_id = open_lead(system, occurred_at_ms=occurred)
    system.clock.advance(minutes=2)
    system.click("accept_lead", lead_id, "U0REP1")
    wait_for(lambda: system.leads()[0].status == "accepted")
    system.submit("disqualify_submit", lead_id, "U0REP1", {"dq_reason": {"dq_reason": {
        "type": "static_select", "selected_option": {"value": "No budget", "text": {"type": "plain_text", "text": "x"}}}}})
    system.drain()
    with system.svc.engine.connect() as conn:
        rows = list(ledger_rows(conn))
    row = rows[0]
    assert (row["lead_id"], row["sdr"], row["decision"], row["decision_reason"]) == (
        lead_id, "U0REP1", "disqualified", "No budget")
    assert row["action_at"] < row["webhook_received_at"] <= row["mql_at"] <= row["alerted_at"] < row["accepted_at"]
    assert "Requested a demo" in row["rules_fired"]
    out = io.StringIO()
    assert write(rows, "csv", out) == 1
    assert list(csv.DictReader(io.StringIO(out.getvalue())))[0]["decision"] == "disqualified"
    out = io.StringIO()
    write(rows, "json", out)
    assert json.loads(out.getvalue().splitlines()[0])["lead_id"] == lead_id


def test_a_rep_marked_away_gets_no_new_leads_from_the_pool(make_system):
    system = make_system()
    open_lead(system, "921")                   # round robin: the first rep,
    open_lead(system, "922")                   # then the second
    system.command("U0REP2", "away 2h")        # the second rep steps out
    open_lead(system, "923")
    open_lead(system, "924")
    assert [lead.owner_id for lead in system.leads()] == ["201", "202", "201", "201"]
    assert "skipped 1 rep: away" in system.leads()[-1].route_why


def test_slack_failing_the_card_makes_the_breach_the_systems_and_the_escalation_names_the_errors(make_system):
    system = make_system()
    # Both copies of the card (the rep's DM and the leads channel) fail at their first two tries.
    system.slack.fail_next("chat.postMessage", status=503, times=4)
    lead_id = open_lead(system)
    assert system.posts("D") == []
    for _ in range(2):
        system.clock.advance(minutes=2)
        system.drain()
    assert len(system.posts("D")) == 1
    system.clock.advance(minutes=1)    # the accept deadline (5 min) passes: the rep is reminded
    run_due(system)
    [breach] = journey(system, lead_id, "breach")
    assert breach["cause"] == "system", breach
    assert breach["words"].startswith("Slack failed twice (last: HTTP 503); the alert went out 4 min")
    system.clock.advance(minutes=5)    # 200%: the managers hear why it was late
    run_due(system)
    escalation = json.dumps(system.posts("C0MGRS")[-1]["blocks"])
    assert "Why late (system): Slack failed twice (last: HTTP 503); the alert went out 4 min" in escalation
    assert not [b for b in journey(system, lead_id, "breach") if b["cause"] == "human"]


def test_a_card_retried_at_once_leaves_the_miss_with_the_rep(make_system):
    system = make_system()
    system.slack.fail_next("chat.postMessage", status=503, times=2)
    lead_id = open_lead(system)
    system.clock.advance(seconds=5)
    system.drain()                     # the retry goes out seconds later: no time lost for the rep
    system.clock.advance(minutes=5)
    run_due(system)
    assert [(b["cause"], b["words"]) for b in journey(system, lead_id, "breach")] == [
        ("human", "No action by the rep")]


def pending_due(system: System, lead_id: int, kind: str) -> str:
    """When the lead's open deadline of a kind is due, as the Berlin rep reads it."""
    with system.svc.engine.connect() as conn:
        due = conn.execute(select(deadlines.c.due_at).where(deadlines.c.lead_id == lead_id, deadlines.c.kind == kind,
                                                            deadlines.c.state == "pending")).scalar_one()
    return due.astimezone(BERLIN).strftime("%a %H:%M")


def test_a_rep_in_berlin_owes_the_first_touch_in_their_own_business_hours(make_system):
    system = make_system(routing=BERLIN_REP_ROUTING)
    # Wednesday 10:00 in New York, 16:00 in Berlin: an hour of the Berlin rep's day is left.
    in_new_york, in_berlin = open_lead(system, "931", owner_id="201"), open_lead(system, "932", owner_id="202")
    assert pending_due(system, in_new_york, "first_touch") == "Wed 17:00"    # 11:00 in New York
    assert pending_due(system, in_berlin, "first_touch") == "Thu 08:00"     # their 17:00 close, then their 08:00


def test_a_reassign_restarts_the_clocks_on_the_new_reps_calendar(make_system):
    system = make_system({"  - {at: 200%, do: notify_managers}  #": "  - {at: 150%, do: reassign}  #"},
                         routing=BERLIN_REP_ROUTING)
    lead_id = open_lead(system, owner_id="201")
    system.clock.advance(minutes=7, seconds=31)
    run_due(system)
    assert system.leads()[0].owner_id == "202"
    # Reassigned at 16:07 in Berlin: 53 minutes of the new rep's day, the other 7 on Thursday morning.
    assert pending_due(system, lead_id, "first_touch") == "Thu 08:07"


def test_three_misses_count_in_the_reps_own_day(make_system):
    # A rep in Tokyo: their Thursday 10:00 is Wednesday 20:00 in New York, their 15:00 is Thursday 01:00 there.
    tokyo = ROUTING.replace('sdr_pool: ["201", "202"]', 'sdr_pool: ["201", {owner: "202", timezone: Asia/Tokyo, '
                            'hours: {mon-fri: "09:00-18:00"}}]')
    system = make_system({"  - {at: 200%, do: notify_managers}  # notify_managers, or reassign (to the next rep in the "
                          "pool)\n": "", "first_touch_within: 1h": "first_touch_within: 5bd"}, routing=tokyo)
    system.clock.now = system.clock.now.replace(day=19, hour=1)          # Thu 10:00 in Tokyo
    for contact_id in ("941", "942"):
        open_lead(system, contact_id, owner_id="202")
    system.clock.advance(minutes=5, seconds=1)
    run_due(system)
    system.clock.advance(hours=5)                                        # Thu 15:05 in Tokyo, a new day in New York
    open_lead(system, "943", owner_id="202")
    system.clock.advance(minutes=5, seconds=1)
    run_due(system)
    causes = [breach["cause"] for lead in system.leads() for breach in journey(system, lead.id, "breach")]
    assert causes == ["human"] * 3
    assert "U0REP2" in system.posts("C0MGRS")[-1]["text"] and "marked away" in system.posts("C0MGRS")[-1]["text"]


def test_a_reps_daily_cap_counts_their_own_day(make_system):
    routing = ROUTING.replace('sdr_pool: ["201", "202"]', 'sdr_pool: [{owner: "201", daily_cap: 1}, "202"]')
    system = make_system({"breaches:": 'calendars: {reps: {"201": {timezone: Asia/Tokyo}}}\nbreaches:'},
                         routing=routing)
    system.clock.now = datetime(2026, 11, 18, 14, 50, tzinfo=timezone.utc)   # 23:50 in Tokyo, 09:50 in New York
    open_lead(system, "931")                   # the Tokyo rep's turn: their one lead of the day
    system.clock.advance(minutes=20)           # 00:10 in Tokyo: a new day there, the same day in New York
    open_lead(system, "932")
    open_lead(system, "933")                   # the Tokyo rep's turn again, and their cap is fresh
    assert [lead.owner_id for lead in system.leads()] == ["201", "202", "201"]
    open_lead(system, "934")
    open_lead(system, "935")                   # now at their cap for their day: skipped
    assert [lead.owner_id for lead in system.leads()][3:] == ["202", "202"]
    assert "at their daily cap" in system.leads()[-1].route_why
