"""The SDR's loop in Slack, through the real app and clients against the fakes: every button and form,
authorization, stale buttons, double submits, the AE handoff, /handoff and App Home."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from bot.models import to_utc_iso
from tests.harness import System, add_people, wait_for, write_config

ROUTING = """\
sdr_pool: ["201", "202"]
ae_pool: ["401"]
managers: ["UMANAGER"]
slack_users: {"401": "U0AE1"}
channels:
  leads: "C0LEADS"
  managers: "C0MGRS"
  fallback: "C0FALLBACK"
  ops: "C0OPS"
"""


@pytest.fixture
def system(sqlite_engine, tmp_path, fake_hubspot, fake_slack):
    add_people(fake_hubspot, fake_slack, "201", "202", "401")
    system = System(sqlite_engine, write_config(tmp_path / "config", routing=ROUTING), fake_hubspot, fake_slack)
    return system


def new_lead(system: System, contact_id: str = "801", **contact) -> int:
    return system.new_lead(contact_id, **contact)



def lead(system: System, lead_id: int):
    return next(row for row in system.leads() if row.id == lead_id)


def accepted(system: System, lead_id: int, user: str = "U0REP1") -> None:
    system.click("accept_lead", lead_id, user)
    wait_for(lambda: lead(system, lead_id).status == "accepted")
    system.drain()


def select(value: str) -> dict:
    return {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": value},
                                                         "value": value}}


def text(value: str | None) -> dict:
    return {"type": "plain_text_input", "value": value}


def radio(value: str) -> dict:
    return {"type": "radio_buttons", "selected_option": {"text": {"type": "plain_text", "text": value},
                                                         "value": value}}


def bant(outcome: str = "sql", *, budget: str = "yes", authority: str = "decision_maker", need: str | None = "Slow handoffs",
         timeline: str = "this_quarter", revisit: str | None = None) -> dict:
    values = {"budget_confirmed": {"budget_confirmed": radio(budget)},
              "budget_range": {"budget_range": text("50-100k")},
              "authority": {"authority": select(authority)},
              "need": {"need": text(need)},
              "timeline": {"timeline": select(timeline)},
              "notes": {"notes": text("Call went well")},
              "outcome": {"outcome": radio(outcome)},
              "revisit_date": {"revisit_date": {"type": "datepicker", "selected_date": revisit}}}
    return values


def modal_opened(system: System, callback_id: str) -> dict:
    opened = [c for c in system.slack.calls if c.method == "views.open"]
    view = opened[-1].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == callback_id
    return view


def test_qualify_as_sql_hands_the_lead_to_an_ae_everywhere(system):
    lead_id = new_lead(system)
    accepted(system, lead_id)
    system.click("qualify_lead", lead_id, "U0REP1")
    wait_for(lambda: system.slack.count("views.open") == 1)
    view = modal_opened(system, "bant_submit")
    assert view["private_metadata"] == str(lead_id)
    response = system.submit("bant_submit", lead_id, "U0REP1", bant("sql"))
    assert response.status_code == 200 and response.get_data() == b""
    system.drain()
    row = lead(system, lead_id)
    assert (row.status, row.decision, row.ae_owner_id, row.ae_user) == ("qualified", "sql", "401", "U0AE1")
    writes = [props for cid, props in system.hubspot.updates if props.get("handoff_decision") == "sql"]
    assert writes and writes[0]["lifecyclestage"] == "salesqualifiedlead" and writes[0]["hubspot_owner_id"] == "401"
    assert system.hubspot.contacts["801"]["lifecyclestage"] == "salesqualifiedlead"
    notes = [n for n in system.hubspot.notes if n["contact_id"] == "801"]
    assert len(notes) == 1 and "Slow handoffs" in notes[0]["body"]
    ae_dm = [m for channel, messages in system.slack.messages.items() for m in messages
             if m.get("metadata", {}).get("event_payload", {}).get("effect_key") == f"lead:{lead_id}:ae-handoff"]
    assert len(ae_dm) == 1 and "Slow handoffs" in json.dumps(ae_dm[0])
    last_update = [c for c in system.slack.calls if c.method == "chat.update"][-1]
    assert "accept_lead" not in json.dumps(last_update.params) and "qualify_lead" not in json.dumps(last_update.params)


def test_a_bant_form_missing_a_required_field_gets_an_inline_error_and_writes_nothing(system):
    lead_id = new_lead(system)
    accepted(system, lead_id)
    updates_before = len(system.hubspot.updates)
    response = system.submit("bant_submit", lead_id, "U0REP1", bant("sql", need=None))
    body = response.get_json()
    assert body["response_action"] == "errors" and "need" in body["errors"]
    system.drain()
    assert lead(system, lead_id).status == "accepted" and len(system.hubspot.updates) == updates_before
    assert system.hubspot.notes == []


def test_a_form_submitted_twice_records_one_decision(system):
    lead_id = new_lead(system)
    accepted(system, lead_id)
    for _ in range(2):
        assert system.submit("bant_submit", lead_id, "U0REP1", bant("sql")).status_code == 200
    system.drain()
    assert len(system.hubspot.notes) == 1
    assert len([p for _, p in system.hubspot.updates if p.get("handoff_decision")]) == 1


def test_not_yet_returns_the_lead_to_nurture_until_its_revisit_date(system):
    lead_id = new_lead(system)
    accepted(system, lead_id)
    revisit = (system.clock.now + timedelta(days=30)).date().isoformat()
    system.submit("bant_submit", lead_id, "U0REP1", bant("not_yet", timeline="six_months_plus", revisit=revisit))
    system.drain()
    row = lead(system, lead_id)
    assert row.status == "nurture" and row.revisit_at.date().isoformat() == revisit
    writes = [p for _, p in system.hubspot.updates if p.get("handoff_decision") == "not_yet"]
    assert writes[0]["hs_lead_status"] == "BAD_TIMING" and "handoff_revisit_at" in writes[0]
    system.clock.advance(days=31)
    system.add_warm_contact("801")   # active again by then
    assert system.sweep() >= 1
    system.drain()
    assert len(system.posts("C0OPS")) == 1
    again = [row for row in system.leads() if row.contact_id == "801" and row.id != lead_id]
    assert len(again) == 1 and json.loads(again[0].card)["past"]["outcome"] == "nurture"


def test_a_past_revisit_date_is_refused_inline(system):
    lead_id = new_lead(system)
    accepted(system, lead_id)
    yesterday = (system.clock.now - timedelta(days=1)).date().isoformat()
    body = system.submit("bant_submit", lead_id, "U0REP1", bant("not_yet", revisit=yesterday)).get_json()
    assert body["response_action"] == "errors" and "revisit_date" in body["errors"]


def test_no_response_recycles_the_lead(system):
    lead_id = new_lead(system)
    accepted(system, lead_id)
    system.submit("bant_submit", lead_id, "U0REP1", bant("no_response"))
    system.drain()
    assert lead(system, lead_id).status == "recycled"
    assert [p["hs_lead_status"] for _, p in system.hubspot.updates if p.get("handoff_decision")] == [
        "ATTEMPTED_TO_CONTACT"]


def test_disqualify_needs_a_reason_and_other_needs_words(system):
    lead_id = new_lead(system)
    body = system.submit("disqualify_submit", lead_id, "U0REP1",
                         {"dq_reason": {"dq_reason": select("Other")}, "dq_other": {"dq_other": text(None)}}).get_json()
    assert body["response_action"] == "errors" and "dq_other" in body["errors"]
    system.submit("disqualify_submit", lead_id, "U0REP1",
                  {"dq_reason": {"dq_reason": select("No budget")}, "dq_other": {"dq_other": text(None)}})
    system.drain()
    row = lead(system, lead_id)
    assert (row.status, row.decision_reason) == ("disqualified", "No budget")
    writes = [p for _, p in system.hubspot.updates if p.get("handoff_decision") == "disqualified"]
    assert writes[0]["handoff_dq_reason"] == "No budget" and writes[0]["hs_lead_status"] == "UNQUALIFIED"


def test_a_stale_button_answers_with_the_leads_current_state(system):
    lead_id = new_lead(system)
    system.submit("disqualify_submit", lead_id, "U0REP1",
                  {"dq_reason": {"dq_reason": select("Competitor")}, "dq_other": {"dq_other": text(None)}})
    system.click("qualify_lead", lead_id, "U0REP1")
    wait_for(lambda: system.slack.hook_posts)
    assert "Competitor" in system.slack.hook_posts[-1]["text"] and system.slack.count("views.open") == 0


def test_only_the_assignee_or_a_manager_may_act(system):
    lead_id = new_lead(system)
    system.click("qualify_lead", lead_id, "U0INTRUDER")
    wait_for(lambda: system.slack.hook_posts)
    assert "U0REP1" in system.slack.hook_posts[-1]["text"] and system.slack.count("views.open") == 0
    body = system.submit("disqualify_submit", lead_id, "U0INTRUDER",
                         {"dq_reason": {"dq_reason": select("No budget")}, "dq_other": {"dq_other": text(None)}})
    assert body.get_json()["response_action"] == "errors"
    assert lead(system, lead_id).status == "new"
    system.submit("disqualify_submit", lead_id, "UMANAGER",
                  {"dq_reason": {"dq_reason": select("Duplicate")}, "dq_other": {"dq_other": text(None)}})
    assert lead(system, lead_id).status == "disqualified"


def test_reassign_to_the_next_in_the_pool_restarts_the_accept_clock(system):
    lead_id = new_lead(system)
    system.submit("reassign_submit", lead_id, "U0REP1",
                  {"reassign_to": {"reassign_to": select("next")},
                   "reassign_reason": {"reassign_reason": text("On holiday from tomorrow")}})
    system.drain()
    row = lead(system, lead_id)
    assert (row.owner_id, row.assignee, row.status) == ("202", "U0REP2", "new")
    assert "On holiday" in row.route_why
    dms = [m for m in system.posts("D") if "accept_lead" in json.dumps(m.get("blocks"))]
    assert len(dms) == 2   # the first rep's card, then the new rep's
    system.clock.advance(seconds=system.svc.config.sla.accept_within.total_seconds() + 1)
    assert system.sweep() == 1   # only the new rep's clock: the first one was cancelled
    system.drain()
    assert len(system.posts("D")) == 3   # first card, new card, the new rep's reminder


def test_snooze_pauses_the_clock_within_the_limit_then_wakes(system):
    lead_id = new_lead(system)
    limit = system.svc.config.sla.max_snooze
    too_long = str(int(limit.total_seconds() // 60) + 60)
    body = system.submit("snooze_submit", lead_id, "U0REP1",
                         {"snooze_until": {"snooze_until": select(too_long)}}).get_json()
    assert body["response_action"] == "errors"
    system.submit("snooze_submit", lead_id, "U0REP1", {"snooze_until": {"snooze_until": select("30")}})
    assert lead(system, lead_id).status == "snoozed"
    system.clock.advance(seconds=system.svc.config.sla.accept_within.total_seconds() + 5)
    assert system.sweep() == 0   # the accept clock is paused by the snooze
    system.clock.advance(minutes=30)
    system.sweep()
    system.drain()
    assert lead(system, lead_id).status == "new"


def test_log_touch_counts_towards_the_cadence_and_notes_hubspot(system):
    lead_id = new_lead(system)
    accepted(system, lead_id)
    for kind in ("call", "email"):
        system.submit("touch_submit", lead_id, "U0REP1",
                      {"touch_kind": {"touch_kind": select(kind)}, "touch_note": {"touch_note": text("left a voicemail")}})
    system.drain()
    assert lead(system, lead_id).touches == 2
    assert sorted(n["body"].split(" ")[0] for n in system.hubspot.notes) == ["Call", "Email"]


def test_an_expired_trigger_still_snoozes_and_says_so(system):
    lead_id = new_lead(system)
    system.click("snooze_lead", lead_id, "U0REP1", trigger_id="1.T0001.expired")
    wait_for(lambda: system.slack.hook_posts)
    assert "snoozed for 1 h" in system.slack.hook_posts[-1]["text"]
    assert lead(system, lead_id).status == "snoozed"


def test_a_deleted_contacts_card_says_so_when_clicked(system):
    lead_id = new_lead(system)
    system.hubspot.delete_contact("801")
    system.post_webhook([system.event("contact.deletion", "801")])
    system.drain()
    system.click("qualify_lead", lead_id, "U0REP1")
    wait_for(lambda: system.slack.hook_posts)
    assert "deleted" in system.slack.hook_posts[-1]["text"]


def test_handoff_mine_lead_away_back_and_stats(system):
    lead_id = new_lead(system)
    mine = system.command("U0REP1", "mine").get_data(as_text=True)
    assert "Ada Lovelace" in mine
    assert "Ada Lovelace" in system.command("U0REP1", "lead 801").get_data(as_text=True)
    assert "Ada Lovelace" in system.command("U0REP1", "lead ada801@acme.example").get_data(as_text=True)
    assert "No lead found" in system.command("U0REP1", "lead 999").get_data(as_text=True)
    away = system.command("U0REP1", "away 2h").get_data(as_text=True)
    assert "back" in away.lower()
    system.command("U0REP1", "back")
    accepted(system, lead_id)
    assert "Working on your stats" in system.command("U0REP1", "stats").get_data(as_text=True)
    wait_for(lambda: system.slack.hook_posts)   # the stats follow the ack, through the command's response_url
    assert "Accepted 1 leads" in system.slack.hook_posts[-1]["text"]
    assert "mine" in system.command("U0REP1", "nonsense").get_data(as_text=True)


def test_app_home_shows_my_leads_once_per_event(system):
    new_lead(system)
    event = {"type": "app_home_opened", "user": "U0REP1", "channel": "D0REP1", "tab": "home",
             "event_ts": "1764000000.000100"}
    assert system.slack_event(event, "Ev0001").status_code == 200
    assert system.slack_event(event, "Ev0001", retry=1).status_code == 200
    wait_for(lambda: system.slack.count("views.publish") >= 1)
    time.sleep(0.2)
    assert system.slack.count("views.publish") == 1
    assert "Ada Lovelace" in json.dumps(system.slack.home_views["U0REP1"])


def test_a_managers_home_shows_the_team_queue_and_its_breaches(system):
    new_lead(system)
    system.clock.advance(seconds=system.svc.config.sla.accept_within.total_seconds() + 1)
    event = {"type": "app_home_opened", "user": "UMANAGER", "channel": "D0MGR", "tab": "home",
             "event_ts": "1764000000.000200"}
    system.slack_event(event, "Ev0002")
    wait_for(lambda: "UMANAGER" in system.slack.home_views)
    home = json.dumps(system.slack.home_views["UMANAGER"])
    assert "U0REP1" in home and "overdue" in home.lower()


def test_a_forged_disqualify_reason_is_refused(system):
    lead_id = new_lead(system)
    body = system.submit("disqualify_submit", lead_id, "U0REP1",
                         {"dq_reason": {"dq_reason": select("Because I said so")},
                          "dq_other": {"dq_other": text(None)}}).get_json()
    assert body["response_action"] == "errors" and lead(system, lead_id).status == "new"


def test_the_reassign_form_lists_the_pools_reps_found_in_slack(system):
    first = new_lead(system, "802")
    new_lead(system, "803")   # the second rep got a lead, so their Slack user is known
    system.click("reassign_lead", first, "U0REP1")
    wait_for(lambda: system.slack.count("views.open") == 1)
    view = modal_opened(system, "reassign_submit")
    values = [o["value"] for o in _options(view)]
    assert "U0REP2" in values and "U0REP1" not in values   # the lead's own rep is not offered


def _options(node) -> list[dict]:
    if isinstance(node, list):
        return [o for item in node for o in _options(item)]
    if isinstance(node, dict):
        own = list(node.get("options", [])) if isinstance(node.get("options"), list) else []
        return own + [o for key, value in node.items() if key != "options" for o in _options(value)]
    return []


def test_an_sql_goes_to_an_ae_found_by_email_when_not_mapped(sqlite_engine, tmp_path, fake_hubspot, fake_slack):
    add_people(fake_hubspot, fake_slack, "201", "401")
    fake_slack.add_user("U0AE1", "ae@example.com", "avery")
    routing = ROUTING.replace('slack_users: {"401": "U0AE1"}', "slack_users: {}")
    system = System(sqlite_engine, write_config(tmp_path / "config", routing=routing), fake_hubspot, fake_slack)
    lead_id = new_lead(system, "804", hubspot_owner_id="401")   # the AE owned the contact once: cached
    system.submit("bant_submit", lead_id, "U0AE1", bant("sql"))   # a manager-free pool: the owner acts
    system.drain()
    assert lead(system, lead_id).ae_user == "U0AE1"


def ae_dms(system, lead_id):
    return [(channel, m) for channel, messages in system.slack.messages.items() for m in messages
            if m.get("metadata", {}).get("event_payload", {}).get("effect_key") == f"lead:{lead_id}:ae-handoff"]


def test_an_ae_nobody_looked_up_yet_is_found_by_email_for_the_handoff(sqlite_engine, tmp_path, fake_hubspot,
                                                                        fake_slack):
    add_people(fake_hubspot, fake_slack, "201", "401")
    fake_slack.add_user("U0AE1", "ae@example.com", "avery")
    routing = ROUTING.replace('slack_users: {"401": "U0AE1"}', "slack_users: {}").replace('["201", "202"]', '["201"]')
    system = System(sqlite_engine, write_config(tmp_path / "config", routing=routing), fake_hubspot, fake_slack)
    lead_id = new_lead(system, "805")          # the pool's rep takes it; the AE's Slack user was never looked up
    accepted(system, lead_id)
    system.submit("bant_submit", lead_id, "U0REP1", bant("sql"))
    system.drain()
    assert lead(system, lead_id).ae_user == "U0AE1"
    [(channel, _message)] = ae_dms(system, lead_id)
    assert channel.startswith("D")            # the AE's DM


def test_an_ae_without_a_slack_user_gets_the_sql_in_the_fallback_channel(sqlite_engine, tmp_path, fake_hubspot,
                                                                          fake_slack):
    fake_hubspot.add_owner("201", "rep1@example.com", "Riley", "Rep")
    fake_hubspot.add_owner("401", "ae@example.com", "Avery", "Exec")   # nobody in Slack has this email
    fake_slack.add_user("U0REP1", "rep1@example.com", "riley")
    routing = ROUTING.replace('slack_users: {"401": "U0AE1"}', "slack_users: {}").replace('["201", "202"]', '["201"]')
    system = System(sqlite_engine, write_config(tmp_path / "config", routing=routing), fake_hubspot, fake_slack)
    lead_id = new_lead(system, "806")
    accepted(system, lead_id)
    system.submit("bant_submit", lead_id, "U0REP1", bant("sql"))
    system.drain()
    assert (lead(system, lead_id).ae_owner_id, lead(system, lead_id).ae_user) == ("401", None)
    [(channel, message)] = ae_dms(system, lead_id)
    assert channel == "C0FALLBACK" and "No Slack user for AE (HubSpot owner 401)" in message["text"]


def test_a_note_whose_answer_was_lost_is_not_created_twice(system):
    lead_id = new_lead(system)
    system.hubspot.lose_note_answers = 1   # HubSpot stores the note, then the answer is lost (502)
    system.submit("disqualify_submit", lead_id, "U0REP1",
                  {"dq_reason": {"dq_reason": select("No budget")}, "dq_other": {"dq_other": text(None)}})
    for _ in range(4):
        system.drain()
        system.clock.advance(seconds=30)
    notes = [n for n in system.hubspot.notes if n["contact_id"] == "801"]
    assert len(notes) == 1 and "Disqualified in Handoff: No budget" in notes[0]["body"]
    assert system.hubspot.count("notes/search") == 1


def test_hubspot_summary_fields_follow_a_reassign_and_an_sql(system):
    lead_id = new_lead(system)
    mql_at = lead(system, lead_id).became_mql_at
    contact = system.hubspot.contacts["801"]
    system.clock.now = mql_at + timedelta(minutes=1)
    accepted(system, lead_id)
    assert contact["handoff_minutes_to_accept"] == "1"
    system.submit("reassign_submit", lead_id, "U0REP1", {"reassign_to": {"reassign_to": select("next")},
                                                         "reassign_reason": {"reassign_reason": text("Out today")}})
    system.drain()
    system.clock.now = mql_at + timedelta(minutes=12)
    accepted(system, lead_id, "U0REP2")   # the new rep accepts afresh: HubSpot hears the new time
    assert contact["handoff_minutes_to_accept"] == "12"
    system.clock.now = decided = mql_at + timedelta(hours=1)
    system.submit("bant_submit", lead_id, "U0REP2", bant("sql"))
    system.drain()
    assert (contact["handoff_decision"], contact["handoff_decided_at"], contact["handoff_touches"]) == (
        "sql", to_utc_iso(decided), "0")
