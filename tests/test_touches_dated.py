"""Speed to lead from HubSpot touches: the first touch is dated when the rep's call, email or meeting happened
(its hs_timestamp), not when Handoff noticed it, bounded by the MQL and the detection. The journey, the
HubSpot summary (handoff_first_touch_at, handoff_minutes_to_first_touch) and the report agree; SQLite and
PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from bot import ledger
from bot.models import to_utc_iso
from bot.store import journey
from tests.harness import System
from tests.test_web_events import system  # noqa: F401  (the fixture: owners 201, 202 and their Slack users)


def rep_calls(system: System, called_at, reported_at=None) -> None:
    """The lead's owner logs a call on 901 in HubSpot; HubSpot's sales-activity count moves and a webhook says so."""
    owner = system.leads()[0].owner_id
    system.hubspot.add_engagement("calls", "5001", "901", hs_timestamp=to_utc_iso(called_at),
                                  hubspot_owner_id=owner, hs_call_direction="OUTBOUND")
    record = system.hubspot.contacts["901"]
    record["num_contacted_notes"] = "1"
    record["hs_last_sales_activity_timestamp"] = to_utc_iso(reported_at or called_at)
    system.post_webhook([system.event("contact.propertyChange", "901", property_name="num_contacted_notes",
                                      property_value="1")])
    system.drain()


def first_touch(system: System):
    lead = system.leads()[0]
    with system.svc.engine.connect() as conn:
        return journey.first_step(conn, lead.id, "touch")["at"]


def test_the_first_touch_is_when_the_rep_called_not_when_handoff_heard(system):
    system.new_lead("901")
    mql_at = system.leads()[0].became_mql_at
    system.clock.now = mql_at + timedelta(minutes=40)      # HubSpot's news came late (a slow sync, a backlog)
    rep_calls(system, mql_at + timedelta(minutes=6))
    assert first_touch(system) == mql_at + timedelta(minutes=6)
    contact = system.hubspot.contacts["901"]
    assert (contact["handoff_first_touch_at"], contact["handoff_minutes_to_first_touch"]) == (
        to_utc_iso(mql_at + timedelta(minutes=6)), "6")
    with system.svc.engine.connect() as conn:
        [row] = ledger.journeys(conn, None, None)
    assert row.first_touch_at == (mql_at + timedelta(minutes=6)).replace(tzinfo=None)   # the report, the export (UTC)


def test_a_call_stamped_ahead_of_our_clock_counts_from_when_it_was_seen(system):
    system.new_lead("901")
    mql_at = system.leads()[0].became_mql_at
    system.clock.now = mql_at + timedelta(minutes=10)
    rep_calls(system, system.clock.now + timedelta(minutes=30))   # a meeting logged ahead, a skewed clock
    seen = system.clock.now
    assert first_touch(system) == seen
    assert system.hubspot.contacts["901"]["handoff_minutes_to_first_touch"] == "10"


def test_a_property_count_is_dated_by_its_last_activity_and_never_before_the_mql(system):
    system.hubspot.refuse_scope("/crm/v4/associations/contacts/", "crm.objects.contacts.read")
    system.new_lead("901")
    mql_at = system.leads()[0].became_mql_at
    system.clock.now = mql_at + timedelta(minutes=30)
    rep_calls(system, mql_at + timedelta(minutes=9), reported_at=mql_at - timedelta(hours=2))
    assert first_touch(system) == mql_at             # the count's date is older than the lead: the MQL moment
