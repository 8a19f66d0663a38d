"""HubSpot API calls per 1,000 property-change events of a bulk import.

Data: 200 contacts (one in five warm), 5 property changes each (jobtitle, company, industry, page views,
last visit), 1,000 events in 10 signed webhook batches of 100, shuffled as HubSpot delivers them, sent
back to back to `python -m bot run`, with the shipped config (web-analytics events on: a contact within 30
points below the threshold costs one events call; none of these is). Counted at the fake HubSpot: every API
call the service made until every event was handled and every MQL written back.
"""
from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone

from bench.common import add_contact, add_people, post_events, running_service
from tests.fakes.fake_hubspot import FakeHubSpot, contact_event
from tests.fakes.fake_slack import FakeSlack

CONTACTS, PROPERTIES = 200, ("jobtitle", "company", "industry", "hs_analytics_num_page_views",
                             "hs_analytics_last_visit_timestamp")


def import_events() -> list[dict]:
    events = [contact_event("contact.propertyChange", str(20_000 + c), event_id=90_000 + c * 10 + p,
                            property_name=name, property_value="x", changeSource="IMPORT")
              for c in range(CONTACTS) for p, name in enumerate(PROPERTIES)]
    random.Random(7).shuffle(events)
    return events


def main() -> int:
    run("bulk import", near_line_every=None)
    # The same import where one contact in ten is near the MQL line: a VP at a 250-person company who
    # downloaded a guide (90 points), whose three pricing-page views only the events API lists. Each costs
    # one events call and becomes an MQL: what `analytics_events` costs where it earns its keep.
    run("bulk import, 1 in 10 near the line", near_line_every=10)
    return 0


def run(title: str, near_line_every: int | None) -> None:
    with FakeHubSpot() as hubspot, FakeSlack() as slack:
        add_people(hubspot, slack)
        near = {str(20_000 + c) for c in range(CONTACTS) if near_line_every and c % near_line_every == 3}
        for c in range(CONTACTS):
            add_contact(hubspot, str(20_000 + c), warm=c % 5 == 0 or str(20_000 + c) in near)
        for contact_id in near:
            _near_the_line(hubspot, contact_id)
        events = import_events()
        with running_service(hubspot, slack) as url:
            started = time.monotonic()
            for start in range(0, len(events), 100):
                post_events(url, events[start:start + 100])
            _wait_until_quiet(hubspot, expected_writes=CONTACTS // 5 + len(near))
            elapsed = time.monotonic() - started
        reads = hubspot.count("contacts/batch/read") + hubspot.count("companies/batch/read")
        print(f"{title}: {len(events)} events over {CONTACTS} contacts -> {len(hubspot.calls)} HubSpot calls "
              f"({len(hubspot.calls) * 1000 / len(events):.1f} per 1,000 events; batch reads {reads}, "
              f"batch updates {hubspot.count('batch/update')}, owner lookups {hubspot.count('owners')}, "
              f"web-analytics events {hubspot.count('/events/v3/events')}, "
              f"engagement reads {hubspot.count('/crm/v4/associations')}), "
              f"{len(hubspot.updates)} contacts written, done in {elapsed:.1f} s")


def _near_the_line(hubspot: FakeHubSpot, contact_id: str) -> None:
    record = hubspot.contacts[contact_id]
    record.update(recent_conversion_event_name="Ebook download", hs_analytics_num_page_views="4")
    for minutes in (5, 4, 3):
        hubspot.add_web_event(contact_id, "e_visited_page", datetime.now(timezone.utc) - timedelta(minutes=minutes),
                              hs_url="https://acme.example/pricing")


def _wait_until_quiet(hubspot: FakeHubSpot, expected_writes: int, timeout: float = 120) -> None:
    """Until every MQL is written back and no call came for two seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = len(hubspot.calls)
        time.sleep(2)
        if len(hubspot.updates) >= expected_writes and len(hubspot.calls) == calls:
            return
    raise RuntimeError("the import was not fully handled in time")


if __name__ == "__main__":
    sys.exit(main())
