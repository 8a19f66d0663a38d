"""POST /hubspot/workflow: HubSpot workflows' "Send a webhook" action feeds Handoff's own activity timeline."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.store.schema import activities, inbox_events
from integrations.hubspot.signature import sign_v2, sign_v3
from integrations.hubspot.workflow import MalformedWorkflowCall, parse_workflow_call
from tests.harness import HUBSPOT_SECRET, System, add_people, write_config

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=timezone.utc)
URL = "http://localhost/hubspot/workflow"


@pytest.mark.parametrize("body, contact_id, kind, label", [
    ({"objectId": 42, "activity": {"kind": "page_view", "url": "https://acme.example/pricing"}}, "42", "page_view",
     "https://acme.example/pricing"),
    ({"contactId": "42", "kind": "chat", "label": "Pricing question"}, "42", "chat", "Pricing question"),
    ({"vid": 42, "properties": {"email": {"value": "a@b.example"}}}, "42", None, None),   # the default contact body
    ({"properties": {"hs_object_id": {"value": "42"}}}, "42", None, None),
])
def test_the_bodies_marketing_ops_can_send(body, contact_id, kind, label):
    call = parse_workflow_call(json.dumps(body).encode(), NOW)
    assert call.contact_id == contact_id
    assert (call.activity.kind if call.activity else None) == kind
    assert (call.activity.label if call.activity else None) == label
    assert call.key.startswith("workflow:")


@pytest.mark.parametrize("body, words", [
    (b"not json", "not JSON"),
    (b"[1]", "JSON object"),
    (b'{"kind": "page_view"}', "no contact id"),
    (b'{"objectId": 4, "kind": "teleport"}', "activity kind must be one of"),
    (b'{"objectId": 4, "kind": "page_view", "occurredAt": "yesterday"}', "occurredAt is not a time"),
    (b'{"objectId": 4, "kind": "page_view", "count": 0}', "count must be"),
    (b'{"objectId": 4, "activity": "page_view"}', "must be an object"),
])
def test_what_a_bad_body_gets(body, words):
    with pytest.raises(MalformedWorkflowCall, match=words):
        parse_workflow_call(body, NOW)


@pytest.fixture
def system(engine, tmp_path, fake_hubspot, fake_slack):
    add_people(fake_hubspot, fake_slack, "201")
    return System(engine, write_config(tmp_path / "config"), fake_hubspot, fake_slack)


def post_workflow(system: System, body: dict, *, version: str = "v2", secret: str = HUBSPOT_SECRET):
    raw = json.dumps(body).encode()
    if version == "v2":
        headers = {"X-HubSpot-Signature": sign_v2(secret, "POST", URL, raw), "X-HubSpot-Signature-Version": "v2"}
    else:
        timestamp = str(int(datetime.now(timezone.utc).timestamp() * 1000))
        headers = {"X-HubSpot-Signature-v3": sign_v3(secret, "POST", URL, raw, timestamp),
                   "X-HubSpot-Request-Timestamp": timestamp}
    return system.client.post("/hubspot/workflow", data=raw, headers=headers | {"Content-Type": "application/json"})


def count(system: System, table) -> int:
    with system.svc.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def page_view(contact_id: str, at: datetime, n: int) -> dict:
    return {"objectId": int(contact_id), "eventId": f"pv-{contact_id}-{n}",
            "activity": {"kind": "page_view", "url": "https://acme.example/pricing",
                         "occurredAt": int(at.timestamp() * 1000)}}


def test_a_signed_call_is_stored_once_and_an_unsigned_one_is_refused(system):
    body = page_view("950", system.clock.now, 1)
    assert post_workflow(system, body).status_code == 204
    assert post_workflow(system, body).status_code == 204   # HubSpot retried: one activity
    assert post_workflow(system, page_view("950", system.clock.now, 2), version="v3").status_code == 204
    assert count(system, activities) == 2
    assert post_workflow(system, page_view("950", system.clock.now, 3), secret="forged").status_code == 401
    assert count(system, activities) == 2
    assert system.client.post("/hubspot/workflow", data=b"{}").status_code == 401
    assert count(system, inbox_events) == 2


def test_a_malformed_call_gets_400_and_stores_nothing(system):
    assert post_workflow(system, {"objectId": 5, "kind": "teleport"}).status_code == 400
    assert count(system, activities) == 0


def test_pricing_visits_sent_by_a_workflow_count_in_the_score_with_their_days(system):
    system.add_warm_contact("951")
    for days_ago in (1, 2, 4):
        post_workflow(system, page_view("951", system.clock.now - timedelta(days=days_ago), days_ago))
    system.drain()
    reasons = json.loads(system.scores()[-1].reasons)
    pricing = [r for r in reasons if r["rule"] == "Visited the pricing page 3 times in a week"]
    assert len(pricing) == 1 and "3×" in pricing[0]["evidence"]
    assert len(system.posts("C0LEADS")) == 1


def test_activity_for_a_contact_hubspot_does_not_have_yet_waits_for_it(system):
    post_workflow(system, page_view("952", system.clock.now - timedelta(hours=1), 1))
    system.drain()
    assert count(system, activities) == 1 and system.leads() == []
    system.add_warm_contact("952")
    system.post_webhook([system.event("contact.creation", "952")])
    system.drain()
    assert [lead.contact_id for lead in system.leads()] == ["952"]
    trail = json.loads(system.leads()[0].card)["activities"]
    assert any(a["label"] == "https://acme.example/pricing" for a in trail)   # the early visit joined its contact
