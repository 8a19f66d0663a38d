"""HubSpot API calls per 1,000 property-change events of a bulk import.

Data: 200 contacts (one in five warm), 5 property changes each (jobtitle, company, industry, page views,
last visit), 1,000 events in 10 signed webhook batches of 100, shuffled as HubSpot delivers them, sent
back to back to `python -m bot run`. Counted at the fake HubSpot: every API call the service made until
every event was handled and every MQL written back.
"""
from __future__ import annotations

import random
import sys
import time

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
    with FakeHubSpot() as hubspot, FakeSlack() as slack:
        add_people(hubspot, slack)
        for c in range(CONTACTS):
            add_contact(hubspot, str(20_000 + c), warm=c % 5 == 0)
        events = import_events()
        with running_service(hubspot, slack) as url:
            started = time.monotonic()
            for start in range(0, len(events), 100):
                post_events(url, events[start:start + 100])
            _wait_until_quiet(hubspot, expected_writes=CONTACTS // 5)
            elapsed = time.monotonic() - started
        reads = hubspot.count("contacts/batch/read") + hubspot.count("companies/batch/read")
        print(f"bulk import: {len(events)} events over {CONTACTS} contacts -> {len(hubspot.calls)} HubSpot calls "
              f"({len(hubspot.calls) * 1000 / len(events):.1f} per 1,000 events; batch reads {reads}, "
              f"batch updates {hubspot.count('batch/update')}, owner lookups {hubspot.count('owners')}), "
              f"{len(hubspot.updates)} contacts written, done in {elapsed:.1f} s")
    return 0


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
