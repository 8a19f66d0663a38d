"""A HubSpot change to an accepted lead in Slack, through the real app, clients and fakes."""
from __future__ import annotations

import json

import pytest

from tests.fakes.fake_hubspot import FakeHubSpot
from tests.fakes.fake_slack import FakeSlack
from tests.harness import APP_ID, System, add_people, wait_for, write_config


@pytest.fixture
def fakes():
    with FakeHubSpot() as hubspot, FakeSlack() as slack:
        add_people(hubspot, slack, "201", "202", "301")
        yield hubspot, slack


@pytest.fixture
def system(sqlite_engine, tmp_path, fakes):
    hubspot, slack = fakes
    return System(sqlite_engine, write_config(tmp_path / "config"), hubspot, slack)


def conversion(system: System, contact_id: str, **kwargs) -> dict:
    return system.demo_request(contact_id, **kwargs)


def test_a_qualifying_change_ends_in_one_write_back_and_one_alert(system):
    system.add_warm_contact("501")
    assert system.post_webhook([conversion(system, "501")]).status_code == 204
    system.drain()
    writes = system.mql_writes()
    assert len(writes) == 1
    contact_id, props = writes[0]
    assert contact_id == "501"
    assert props["lifecyclestage"] == "marketingqualifiedlead" and props["hs_lead_status"] == "NEW"
    assert props["handoff_mql_reason"].startswith("Requested a demo 2 min ago")
    assert {"handoff_score", "handoff_mql_at"} <= props.keys()
    assert system.hubspot.contacts["501"]["lifecyclestage"] == "marketingqualifiedlead"
    dm, channel = system.posts("D"), system.posts("C0LEADS")
    assert len(dm) == 1 and len(channel) == 1
    card = system.card_text(channel[0])
    assert "Ada Lovelace" in card and "VP Engineering" in card and "accept_lead" in card
    assert "app.hubspot.com/contacts/" in card
    lead = system.leads()[0]
    assert (lead.status, lead.owner_id, lead.assignee) == ("new", "201", "U0REP1")


def test_a_non_qualifying_change_writes_and_alerts_nothing(system):
    system.add_cold_contact("502")
    system.post_webhook([system.event("contact.creation", "502")])
    system.drain()
    assert system.hubspot.updates == [] and system.posts() == []
    assert [s.is_mql for s in system.scores()] == [False]


def test_redelivered_events_change_nothing(system):
    system.add_warm_contact("503")
    first = conversion(system, "503")
    system.post_webhook([first])
    system.drain()
    retry = first | {"attemptNumber": 3}
    assert system.post_webhook([retry, retry]).status_code == 204
    system.drain()
    assert len(system.mql_writes()) == 1 and len(system.posts("C0LEADS")) == 1
    assert len(system.scores()) == 1


def test_our_own_writes_echoing_back_never_alert_or_write_again(system):
    system.add_warm_contact("504")
    system.post_webhook([conversion(system, "504")])
    system.drain()
    calls_before = len(system.hubspot.calls)
    echoes = [system.event("contact.propertyChange", cid, property_name=name, property_value=value,
                           changeSource="INTEGRATION", sourceId=str(APP_ID))
              for cid, props in system.hubspot.updates for name, value in props.items()]
    # With a private-app token the echo may not carry our app id: the open lead still holds it back.
    echoes.append(system.event("contact.propertyChange", "504", property_name="lifecyclestage",
                               property_value="marketingqualifiedlead", changeSource="API", sourceId="other"))
    system.post_webhook(echoes)
    system.drain()
    assert len(system.hubspot.updates) == 1 and len(system.posts("C0LEADS")) == 1
    assert system.hubspot.count("batch/update") == 1
    assert len(system.hubspot.calls) - calls_before <= 2   # one read of the contact (+ its company)


def test_the_assignee_accepts_once_and_hubspot_and_slack_show_it(system):
    system.add_warm_contact("505")
    system.post_webhook([conversion(system, "505")])
    system.drain()
    lead = system.leads()[0]
    system.clock.advance(minutes=2, seconds=10)
    assert system.click("accept_lead", lead.id, "U0REP1").status_code == 200
    assert system.click("accept_lead", lead.id, "U0REP1").status_code == 200   # a double click
    wait_for(lambda: system.leads()[0].status == "accepted")
    system.drain()
    accepted = system.leads()[0]
    assert accepted.accepted_by == "U0REP1"
    accept_writes = [p for _, p in system.hubspot.updates if p.get("hs_lead_status") == "IN_PROGRESS"]
    assert accept_writes == [accept_writes[0]] and accept_writes[0]["hubspot_owner_id"] == "201"
    updated = [c for c in system.slack.calls if c.method == "chat.update"]
    assert len(updated) >= 2   # the DM and the channel copy, edited in place
    assert "Accepted by" in json.dumps(updated[-1].params) and "2 min 10 s" in json.dumps(updated[-1].params)


def test_someone_else_pressing_accept_is_told_who_owns_it(system):
    system.add_warm_contact("506")
    system.post_webhook([conversion(system, "506")])
    system.drain()
    lead = system.leads()[0]
    system.click("accept_lead", lead.id, "U0INTRUDER")
    wait_for(lambda: system.slack.hook_posts)
    assert "U0REP1" in system.slack.hook_posts[0]["text"]
    system.drain()
    assert system.leads()[0].status == "new"
    assert not [p for _, p in system.hubspot.updates if p.get("hs_lead_status") == "IN_PROGRESS"]


def test_a_manager_may_accept_any_lead(system):
    system.add_warm_contact("507")
    system.post_webhook([conversion(system, "507")])
    system.drain()
    system.click("accept_lead", system.leads()[0].id, "UMANAGER")
    wait_for(lambda: system.leads()[0].status == "accepted")
    assert system.leads()[0].accepted_by == "UMANAGER"


def test_an_unaccepted_lead_reminds_the_rep_then_tells_the_managers(system):
    system.add_warm_contact("508")
    system.post_webhook([conversion(system, "508")])
    system.drain()
    accept_within = system.svc.config.sla.accept_within
    system.clock.advance(seconds=accept_within.total_seconds() - 5)
    assert system.sweep() == 0
    system.clock.advance(seconds=6)
    assert system.sweep() == 1
    system.drain()
    assert len(system.posts("D")) == 2   # the card, then the reminder
    assert system.posts("C0MGRS") == []
    system.clock.advance(seconds=accept_within.total_seconds())
    assert system.sweep() == 1
    system.drain()
    assert len(system.posts("C0MGRS")) == 1
    system.clock.advance(minutes=30)
    assert system.sweep() == 0   # each step once (the first-touch clock is due only at 11:00)


def test_accepting_in_time_stops_the_escalation(system):
    system.add_warm_contact("509")
    system.post_webhook([conversion(system, "509")])
    system.drain()
    system.click("accept_lead", system.leads()[0].id, "U0REP1")
    wait_for(lambda: system.leads()[0].status == "accepted")
    system.clock.advance(minutes=30)
    system.sweep()
    system.drain()
    assert system.posts("C0MGRS") == [] and len(system.posts("D")) == 1


def test_an_owner_with_no_slack_user_goes_to_the_fallback_channel(system):
    system.add_warm_contact("510", owner_id="301")
    system.post_webhook([conversion(system, "510")])
    system.drain()
    assert len(system.posts("C0FALLBACK")) == 1 and system.posts("D") == []
    assert system.leads()[0].route_why == "Contact owner in HubSpot"


def test_a_contact_with_an_open_lead_is_not_alerted_again(system):
    system.add_warm_contact("511")
    system.post_webhook([conversion(system, "511")])
    system.drain()
    system.hubspot.contacts["511"]["hs_analytics_num_page_views"] = "20"
    system.post_webhook([system.event("contact.propertyChange", "511", property_name="hs_analytics_num_page_views",
                                      property_value="20")])
    system.drain()
    assert len(system.posts("C0LEADS")) == 1 and len(system.mql_writes()) == 1
    assert "20 page views" in json.loads(system.leads()[0].card)["activities"].__repr__()


def test_a_deleted_contact_closes_its_lead_and_the_rest_goes_on(system):
    system.add_warm_contact("512")
    system.add_warm_contact("513")
    system.post_webhook([conversion(system, "512"), conversion(system, "513")])
    system.drain()
    system.hubspot.delete_contact("512")
    system.post_webhook([system.event("contact.deletion", "512"), system.event("contact.propertyChange", "513",
                                                                              property_name="jobtitle",
                                                                              property_value="VP Sales")])
    system.drain()
    by_contact = {lead.contact_id: lead for lead in system.leads()}
    assert by_contact["512"].status == "closed" and by_contact["513"].status == "new"


def test_a_merged_contact_follows_the_surviving_id(system):
    system.add_warm_contact("514")
    system.post_webhook([conversion(system, "514")])
    system.drain()
    system.add_warm_contact("515")
    system.hubspot.merge_contacts("515", "514")
    system.post_webhook([system.event("contact.merge", "515", primaryObjectId=515, mergedObjectIds=[514])])
    system.drain()
    leads = system.leads()
    assert [(lead.contact_id, lead.status) for lead in leads] == [("515", "new")]
    assert len(system.posts("C0LEADS")) == 1


def test_hubspot_429_waits_and_loses_nothing(system):
    system.add_warm_contact("516")
    system.hubspot.fail_next("batch/read", 429, retry_after="2")
    system.post_webhook([conversion(system, "516")])
    system.drain()
    assert system.leads() == []
    system.clock.advance(seconds=2.5)
    system.drain()
    assert len(system.leads()) == 1 and len(system.posts("C0LEADS")) == 1


def test_slack_errors_are_retried_without_a_second_copy(system):
    system.add_warm_contact("517")
    system.slack.fail_next("chat.postMessage", status=500, times=2)
    system.slack.drop_connection_after_post = 1
    system.post_webhook([conversion(system, "517")])
    for _ in range(8):
        system.drain()
        system.clock.advance(seconds=120)
    assert len(system.posts("C0LEADS")) == 1 and len(system.posts("D")) == 1
    assert system.effects(state="pending") == []


def test_an_unknown_event_type_is_acknowledged_and_ignored(system):
    event = system.event("contact.associationChange", "518")
    assert system.post_webhook([event]).status_code == 204
    system.drain()
    assert system.scores() == [] and system.hubspot.calls == []



def test_crm_text_cannot_ping_anyone_or_make_a_link(system):
    system.add_warm_contact("519", firstname="<!channel>", lastname="<https://evil.example|Open invoice>",
                            company="<@U0REP1> & co")
    system.post_webhook([conversion(system, "519")])
    system.drain()
    assert len(system.posts("C0LEADS")) == 1
    assert system.slack.injections == []
    message = system.posts("C0LEADS")[0]
    mrkdwn = [t for t in _texts(message["blocks"]) if t["type"] == "mrkdwn"] + [{"text": message["text"]}]
    joined = " ".join(t["text"] for t in mrkdwn)
    assert "&lt;!channel&gt;" in joined and "<https://evil.example" not in joined and "<@U0REP1> &" not in joined
    assert all(t.get("verbatim", True) for t in mrkdwn)   # Slack's auto-parsing off where CRM text appears


def _texts(node) -> list[dict]:
    """Every text object in a Block Kit structure (plain_text is never parsed by Slack)."""
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    if isinstance(node, dict):
        own = [node] if node.get("type") in ("mrkdwn", "plain_text") and "text" in node else []
        return own + [t for value in node.values() for t in _texts(value)]
    return []


@pytest.mark.parametrize("accept_within", ["30s", "30"])
def test_business_hours_always_and_durations_in_seconds(sqlite_engine, tmp_path, fakes, accept_within):
    hubspot, slack = fakes
    config = write_config(tmp_path / "config")
    sla = (config / "sla.yaml").read_text()
    sla = sla.replace("accept_within: 5m", f"accept_within: {accept_within}")
    (config / "sla.yaml").write_text(sla.split("business_hours:")[0] + "business_hours: always\n"
                                     + "holidays: null\n" + "accept_within: " + accept_within
                                     + "\nfirst_touch_within: 1h\n")
    system = System(sqlite_engine, config, hubspot, slack)
    assert system.svc.config.sla.accept_within.total_seconds() == 30
    system.add_warm_contact("520")
    system.post_webhook([conversion(system, "520")])
    system.drain()
    system.clock.advance(seconds=31)
    assert system.sweep() == 1
    system.drain()
    assert len(system.posts("D")) == 2


def test_the_loop_on_postgresql_with_two_workers_at_once(engine, tmp_path, fakes):
    """Two worker passes racing on one batch of contacts still alert each lead once (PostgreSQL too)."""
    import threading
    from bot import outbox, worker
    hubspot, slack = fakes
    system = System(engine, write_config(tmp_path / "config"), hubspot, slack)
    ids = [str(530 + i) for i in range(12)]
    for contact_id in ids:
        system.add_warm_contact(contact_id)
    system.post_webhook([conversion(system, cid) for cid in ids])
    system.clock.advance(seconds=1)

    def work() -> None:
        while worker.process_one_batch(system.svc) | outbox.run_one_batch(system.svc):
            pass

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    system.drain()
    assert sorted(lead.contact_id for lead in system.leads()) == ids
    assert len(system.posts("C0LEADS")) == 12 and len(system.mql_writes()) == 12


def test_explain_prints_each_score_with_its_reasons_and_what_changed(system):
    import io
    from bot.explain import explain
    system.add_warm_contact("540")
    system.hubspot.contacts["540"]["jobtitle"] = "Intern"
    system.post_webhook([conversion(system, "540")])
    system.drain()
    system.hubspot.contacts["540"]["jobtitle"] = "VP Engineering"
    system.post_webhook([system.event("contact.propertyChange", "540", property_name="jobtitle",
                                      property_value="VP Engineering")])
    system.drain()
    out = io.StringIO()
    assert explain(system.svc.engine, "540", out) == 0
    text = out.getvalue()
    assert "2 score(s)" in text and "lead 1: new" in text
    assert "not an MQL" in text and "gate not met" in text and "now fires" in text
    assert "Requested a demo" in text
    assert explain(system.svc.engine, "999", io.StringIO()) == 1


def test_a_lead_in_the_fallback_channel_is_taken_by_whoever_claims_it_first(system):
    system.add_warm_contact("541", owner_id="301")   # an owner with no Slack user
    system.post_webhook([conversion(system, "541")])
    system.drain()
    lead = system.leads()[0]
    system.click("accept_lead", lead.id, "U0REP2")
    system.click("accept_lead", lead.id, "U0REP1")
    wait_for(lambda: system.leads()[0].status == "accepted")
    wait_for(lambda: len(system.slack.hook_posts) == 1)
    winner = system.leads()[0].accepted_by
    assert winner in ("U0REP1", "U0REP2")
    assert f"Already accepted by <@{winner}>" in system.slack.hook_posts[0]["text"]


def test_the_card_says_what_changed_since_the_alert(system):
    system.add_warm_contact("542")
    system.post_webhook([conversion(system, "542")])
    system.drain()
    system.hubspot.contacts["542"]["hs_email_last_click_date"] = "2026-11-18T15:00:00.000Z"
    system.post_webhook([system.event("contact.propertyChange", "542", property_name="hs_email_last_click_date",
                                      property_value="1763478000000")])
    system.drain()
    card = json.loads(system.leads()[0].card)
    assert any(line.startswith("New: ") for line in card["changes_since_last_alert"])
    assert len(card["score_history"]) == 2
    update = [c for c in system.slack.calls if c.method == "chat.update"][-1]
    assert "New: " in json.dumps(update.params)


def test_a_reminder_goes_in_the_thread_of_the_reps_card(system):
    system.add_warm_contact("543")
    system.post_webhook([conversion(system, "543")])
    system.drain()
    card = system.posts("D")[0]
    system.clock.advance(seconds=system.svc.config.sla.accept_within.total_seconds() + 1)
    system.sweep()
    system.drain()
    reminder = system.posts("D")[-1]
    assert reminder["thread_ts"] == card["ts"]


def test_deadlines_missed_while_the_service_was_down_fire_once_on_start(system):
    system.add_warm_contact("544")
    system.post_webhook([conversion(system, "544")])
    system.drain()
    system.clock.advance(hours=2)   # down for two hours: both accept steps and the first touch are overdue
    fired = system.sweep()
    system.drain()
    assert fired == 4   # remind + managers for accept, remind + managers for the first touch
    assert system.sweep() == 0
    assert len(system.posts("C0MGRS")) == 2


def test_a_slack_429_waits_as_retry_after_says_then_updates_the_card(system):
    system.add_warm_contact("545")
    system.post_webhook([conversion(system, "545")])
    system.drain()
    system.slack.fail_next("chat.update", status=429, retry_after="3", times=1)
    system.click("accept_lead", system.leads()[0].id, "U0REP1")
    wait_for(lambda: system.leads()[0].status == "accepted")
    system.drain()
    updates = lambda: [c for c in system.slack.calls if c.method == "chat.update"]
    first = len(updates())
    system.clock.advance(seconds=1)
    system.drain()
    assert len(updates()) == first   # still waiting: Slack asked for 3 s
    system.clock.advance(seconds=3)
    system.drain()
    assert len(updates()) > first and "Accepted by" in json.dumps(updates()[-1].params)
