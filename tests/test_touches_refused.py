"""An engagements read that HubSpot refuses for one contact (a persistent 400/404) degrades to the sales-activity
properties for that contact only; 429 and 5xx still make the batch wait. The real hubspot-api-client against a
fake HubSpot told to refuse one contact, on SQLite and PostgreSQL."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot import touches as touches_core
from bot.models import to_utc_iso
from bot.store import kv
from bot.store.schema import inbox_events
from integrations.errors import IntegrationError
from integrations.hubspot.crm import HubSpotCrm
from sqlalchemy import select
from tests.fakes.fake_hubspot import FakeHubSpot, error
from tests.harness import System, add_people, write_config
from tests.test_hubspot_touches import ASSOCIATIONS, engagement, touches
from tests.test_web_events import ROUTING


class OddContactHubSpot(FakeHubSpot):
    """HubSpot answering every associations read that names one of `odd` with that contact's status."""

    def __init__(self) -> None:
        super().__init__()
        self.odd: dict[str, int] = {}

    def _answer(self, request, call):
        named = {str(item.get("id")) for item in (call.json or {}).get("inputs", []) if isinstance(item, dict)} \
            if isinstance(call.json, dict) else set()
        refused = next((self.odd[contact] for contact in sorted(named) if contact in self.odd), None)
        if ASSOCIATIONS in request.path and refused:
            return (*error(refused, "Invalid input for contacts", "VALIDATION_ERROR"), {})
        return super()._answer(request, call)


@pytest.fixture
def odd_hubspot():
    with OddContactHubSpot() as server:
        yield server


@pytest.fixture
def system(engine, tmp_path, odd_hubspot, fake_slack):
    add_people(odd_hubspot, fake_slack, "201")
    routing = ROUTING.replace('["201", "202"]', '["201"]')
    return System(engine, write_config(tmp_path / "config", routing=routing), odd_hubspot, fake_slack)


def two_leads_touched(system: System) -> None:
    """Leads on 901 and 902; ten minutes later the rep calls both, and HubSpot tells us in one batch."""
    system.new_lead("901")
    system.new_lead("902")
    system.clock.advance(minutes=10)
    engagement(system, "calls", "5001", -2, "201", hs_call_direction="OUTBOUND")   # on 901
    system.hubspot.add_engagement("calls", "5002", "902", hs_timestamp=to_utc_iso(system.clock.now),
                                  hubspot_owner_id="201", hs_call_direction="OUTBOUND")
    events = []
    for contact_id in ("901", "902"):
        record = system.hubspot.contacts[contact_id]
        record["num_contacted_notes"] = "1"
        record["hs_last_sales_activity_timestamp"] = to_utc_iso(system.clock.now - timedelta(minutes=1))
        events.append(system.event("contact.propertyChange", contact_id, property_name="num_contacted_notes",
                                   property_value="1"))
    system.post_webhook(events)
    system.drain()


def pending_events(system: System) -> int:
    with system.svc.engine.connect() as conn:
        return len(conn.execute(select(inbox_events.c.id).where(inbox_events.c.state == "pending")).all())


@pytest.mark.parametrize("status", [400, 404])
def test_one_refused_contact_falls_back_alone_and_the_batch_goes_on(system, status, caplog):
    system.hubspot.odd["902"] = status
    with caplog.at_level(logging.WARNING, logger="handoff.touches"):
        two_leads_touched(system)
    by_contact = {lead.contact_id: lead.touches for lead in system.leads()}
    assert by_contact == {"901": 1, "902": 1}
    found = {(t["touch"], t.get("engagement")) for t in touches(system)}
    assert found == {("call", "5001"), ("hubspot", None)}      # 901 from its call, 902 from the count
    assert pending_events(system) == 0                        # nothing waits: the batch finished
    [line] = [r.getMessage() for r in caplog.records if "not readable" in r.getMessage()]
    assert line.startswith("contact=902 ") and f"HTTP {status}" in line
    assert "@" not in caplog.text and "Ada" not in caplog.text   # ids and statuses, never emails or names
    with system.svc.engine.connect() as conn:                   # one contact's refusal blocks nobody else
        assert kv.blocked_until(conn, "hubspot-engagements") is None


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_outages_still_make_the_batch_wait(system, status):
    system.hubspot.fail_next(ASSOCIATIONS, status, retry_after="1" if status == 429 else None)
    two_leads_touched(system)
    assert {lead.touches for lead in system.leads()} == {0}    # nothing half-done, nothing from the fallback
    assert pending_events(system) == 2
    system.clock.advance(minutes=5)
    system.drain()
    assert sorted(t.get("engagement") for t in touches(system)) == ["5001", "5002"]


def test_a_refusal_for_every_contact_is_the_portals_and_is_remembered(engine, odd_hubspot):
    """Past the spare reads, halving stops: the refusal is raised and the worker blocks the read for a while."""
    crm = HubSpotCrm("pat-na1-test-token", base_url=odd_hubspot.base_url)
    contacts = [str(n) for n in range(801, 809)]
    for contact_id in contacts:
        odd_hubspot.add_engagement("calls", f"7{contact_id}", contact_id, hubspot_owner_id="201")
        odd_hubspot.odd[contact_id] = 400
    with pytest.raises(IntegrationError) as raised:
        touches_core.read_engagements(crm.read_engagements, contacts, spare_reads=4)
    assert raised.value.status == 400
    assert odd_hubspot.count(ASSOCIATIONS) == 3                 # the batch, then halving until the spare reads ran out
    odd_hubspot.odd = {"803": 404}
    read = touches_core.read_engagements(crm.read_engagements, contacts, spare_reads=8)
    assert read["803"] is None
    assert {contact: [e.id for e in found] for contact, found in read.items() if contact != "803"} == \
        {contact: [f"7{contact}"] for contact in contacts if contact != "803"}
