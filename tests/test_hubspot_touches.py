"""The owner's calls, emails and meetings in HubSpot as touches (issue 5): read through associations v4 and
batch reads with the real hubspot-api-client against the fake HubSpot, counted once each, with the
sales-activity properties as the fallback; SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.models import to_utc_iso
from bot.store import kv
from bot.store.schema import deadlines, lead_events, leads
from tests.harness import System
from tests.test_web_events import system  # noqa: F401  (the fixture: owners 201, 202 and their Slack users)

ASSOCIATIONS = "/crm/v4/associations/contacts/"


def engagement(system: System, kind: str, engagement_id: str, minutes: float, owner: str, **props) -> None:
    """A call/email/meeting on contact 901, `minutes` after now (negative: before)."""
    at = to_utc_iso(system.clock.now + timedelta(minutes=minutes))
    system.hubspot.add_engagement(kind, engagement_id, "901", hs_timestamp=at, hubspot_owner_id=owner, **props)


def sales_activity(system: System, count: int, contact_id: str = "901") -> None:
    """HubSpot moves the contact's sales-activity properties, and tells us in a webhook."""
    record = system.hubspot.contacts[contact_id]
    record["num_contacted_notes"] = str(count)
    record["hs_last_sales_activity_timestamp"] = to_utc_iso(system.clock.now)
    system.post_webhook([system.event("contact.propertyChange", contact_id, property_name="num_contacted_notes",
                                      property_value=str(count))])
    system.drain()


def touches(system: System) -> list[dict]:
    with system.svc.engine.connect() as conn:
        rows = conn.execute(select(lead_events.c.detail).where(lead_events.c.kind == "touch")
                            .order_by(lead_events.c.id))
        return [json.loads(row.detail) for row in rows]


def first_touch_open(system: System) -> bool:
    with system.svc.engine.connect() as conn:
        rows = conn.execute(select(deadlines.c.state).where(deadlines.c.kind == "first_touch"))
        return any(state == "pending" for (state,) in rows)


def test_the_owners_outbound_calls_emails_and_meetings_after_the_mql_count_once_each(system):
    system.new_lead("901")
    owner = system.leads()[0].owner_id
    other = "202" if owner == "201" else "201"
    system.clock.advance(minutes=10)
    engagement(system, "calls", "5001", -5, owner, hs_call_direction="OUTBOUND")
    engagement(system, "calls", "5002", -4, owner, hs_call_direction="INBOUND")       # they called us
    engagement(system, "emails", "6001", -3, owner, hs_email_direction="EMAIL")
    engagement(system, "emails", "6002", -2, owner, hs_email_direction="INCOMING_EMAIL")  # their reply
    engagement(system, "meetings", "7001", -1, owner, hs_meeting_outcome="CANCELED")
    engagement(system, "calls", "5003", -1, other, hs_call_direction="OUTBOUND")        # not the lead's rep
    engagement(system, "calls", "5004", -60, owner, hs_call_direction="OUTBOUND")       # before the MQL
    sales_activity(system, 7)
    assert [(t["touch"], t["engagement"], t["number"]) for t in touches(system)] == [
        ("call", "5001", 1), ("email", "6001", 2)]
    assert system.leads()[0].touches == 2
    assert not first_touch_open(system)
    # The same news again, and a count that moves with nothing new behind it: nothing counted twice.
    sales_activity(system, 7)
    sales_activity(system, 8)
    assert system.leads()[0].touches == 2
    engagement(system, "meetings", "7002", 0, owner, hs_meeting_outcome="COMPLETED")
    system.clock.advance(minutes=1)
    sales_activity(system, 9)
    assert [t["engagement"] for t in touches(system)] == ["5001", "6001", "7002"]


def test_a_redelivered_webhook_counts_nothing_twice(system):
    system.new_lead("901")
    system.clock.advance(minutes=10)
    engagement(system, "calls", "5001", -1, system.leads()[0].owner_id, hs_call_direction="OUTBOUND")
    system.hubspot.contacts["901"]["num_contacted_notes"] = "1"
    event = system.event("contact.propertyChange", "901", property_name="num_contacted_notes", property_value="1")
    for attempt in range(3):
        system.post_webhook([{**event, "attemptNumber": attempt}])
        system.drain()
    assert system.leads()[0].touches == 1


def test_the_slack_assignees_own_engagements_count_too(system):
    system.new_lead("901")
    system.clock.advance(minutes=10)
    lead = system.leads()[0]
    with system.svc.engine.begin() as conn:   # the HubSpot owner is no longer the rep working it in Slack
        conn.execute(leads.update().where(leads.c.id == lead.id).values(owner_id="999"))
        owner_of_assignee = kv.owner_for_slack_user(conn, lead.assignee)
    engagement(system, "calls", "5001", -2, owner_of_assignee, hs_call_direction="OUTBOUND")
    engagement(system, "calls", "5002", -1, "999", hs_call_direction="OUTBOUND")
    engagement(system, "calls", "5003", -1, "998", hs_call_direction="OUTBOUND")
    sales_activity(system, 3)
    assert [t["engagement"] for t in touches(system)] == ["5001", "5002"]


def test_without_the_scope_the_property_count_counts_and_never_doubles_later(system):
    system.hubspot.refuse_scope(ASSOCIATIONS, "crm.objects.contacts.read")
    system.new_lead("901")
    owner = system.leads()[0].owner_id
    system.clock.advance(minutes=10)
    engagement(system, "calls", "5001", -2, owner, hs_call_direction="OUTBOUND")
    engagement(system, "calls", "5002", -1, owner, hs_call_direction="OUTBOUND")
    sales_activity(system, 2)
    assert [t["touch"] for t in touches(system)] == ["hubspot", "hubspot"]
    assert system.hubspot.count(ASSOCIATIONS) == 1
    sales_activity(system, 3)                    # still refused: not asked again for a while
    assert system.hubspot.count(ASSOCIATIONS) == 1 and system.leads()[0].touches == 3
    # The scope is granted; the calls the count covered are not counted again, a new one is.
    system.hubspot.refused_scopes.clear()
    system.clock.advance(hours=6, minutes=1)
    engagement(system, "calls", "5003", -1, owner, hs_call_direction="OUTBOUND")
    sales_activity(system, 4)
    assert [t.get("engagement") for t in touches(system)] == [None, None, None, "5003"]


def test_a_failing_engagement_read_waits_and_loses_no_touch(system):
    system.new_lead("901")
    system.clock.advance(minutes=10)
    engagement(system, "calls", "5001", -1, system.leads()[0].owner_id, hs_call_direction="OUTBOUND")
    system.hubspot.fail_next(ASSOCIATIONS, 503)
    sales_activity(system, 1)
    assert system.leads()[0].touches == 0            # the batch waits (backoff), nothing half-done
    system.clock.advance(minutes=5)
    system.drain()
    assert system.leads()[0].touches == 1


def test_a_touch_for_a_contact_with_no_open_lead_is_recorded_and_nothing_escalates(system, caplog):
    system.add_cold_contact("901")
    with caplog.at_level("INFO", logger="handoff.worker"):
        sales_activity(system, 1)
    assert system.leads() == [] and touches(system) == []
    assert "num_contacted_notes" in system.scores()[-1].cause
    assert "no open lead" in caplog.text
    assert system.hubspot.count(ASSOCIATIONS) == 0 and system.sweep() == 0
