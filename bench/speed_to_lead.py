"""Speed to lead: webhook receipt -> Slack alert posted, p50/p99, with the fakes answering at once and
with 100 ms latency on every HubSpot and Slack call.

Data: 200 warm contacts (a VP at a 250-person software company who requested a demo), one signed
webhook each, sent one after another; the service is `python -m bot run` on SQLite. The clock starts when
our server has answered the webhook (the event is stored) and stops when the fake Slack receives the
first chat.postMessage naming that contact.
"""
from __future__ import annotations

import sys
import time

from bench.common import add_contact, add_people, conversion_event, post_events, running_service, summary
from tests.fakes.fake_hubspot import FakeHubSpot
from tests.fakes.fake_slack import FakeSlack

CONTACTS = 200
PACE = 0.1


def measure(latency: float) -> list[float]:
    with FakeHubSpot() as hubspot, FakeSlack() as slack:
        add_people(hubspot, slack)
        ids = [str(10_000 + i) for i in range(CONTACTS)]
        for contact_id in ids:
            add_contact(hubspot, contact_id, warm=True)
        with running_service(hubspot, slack) as url:
            hubspot.latency = slack.latency = latency
            received = {}
            for n, cid in enumerate(ids):   # a steady 10 demo requests a second: a very busy portal
                received[cid] = post_events(url, [conversion_event(cid, 50_000 + n)])
                time.sleep(PACE)
            alerted = _wait_for_alerts(slack, ids)
    return [alerted[cid] - received[cid] for cid in ids]


def _wait_for_alerts(slack: FakeSlack, ids: list[str], timeout: float = 120) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        first = _first_post_times(slack)
        if all(cid in first for cid in ids):
            return first
        time.sleep(0.05)
    raise RuntimeError("not every lead was alerted")


def _first_post_times(slack: FakeSlack) -> dict[str, float]:
    first: dict[str, float] = {}
    for call in slack.calls:
        if call.method != "chat.postMessage":
            continue
        text = str(call.params.get("text", ""))
        for word in text.replace("*", " ").split():
            if word.startswith("Bench") and word[5:].isdigit():
                first.setdefault(word[5:], call.at)
    return first


def main() -> int:
    for latency in (0.0, 0.1):
        delays = measure(latency)
        print(f"speed to lead, fakes answering with {latency * 1000:.0f} ms latency: {summary(delays)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
