"""The real service (`python -m bot run`, a subprocess) against fake HubSpot and Slack servers on loopback."""
from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from bot.models import to_utc_iso
from tests.fakes.fake_hubspot import FakeHubSpot, contact_event, signed_webhook
from tests.fakes.fake_slack import FakeSlack

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-hubspot-secret"
ROUTING = ('sdr_pool: ["201", "202", "203"]\nmanagers: []\nslack_users: {}\n'
           'channels: {leads: "C0LEADS", managers: "C0MGRS", fallback: "C0FALLBACK"}\n')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    return (f"n={len(values)} p50={percentile(values, 0.5) * 1000:.0f} ms "
            f"p99={percentile(values, 0.99) * 1000:.0f} ms mean={statistics.mean(values) * 1000:.0f} ms "
            f"max={max(values) * 1000:.0f} ms")


def add_people(hubspot: FakeHubSpot, slack: FakeSlack) -> None:
    for i, owner in enumerate(("201", "202", "203")):
        hubspot.add_owner(owner, f"rep{i}@example.com", f"Rep{i}", "Bench")
        slack.add_user(f"U0REP{i}", f"rep{i}@example.com", f"rep{i}")


def add_contact(hubspot: FakeHubSpot, contact_id: str, warm: bool) -> None:
    now = datetime.now(timezone.utc)
    company_id = f"9{contact_id}"
    hubspot.add_company(company_id, name="Acme", numberofemployees="250" if warm else "12",
                        industry="COMPUTER_SOFTWARE")
    hubspot.add_contact(contact_id, firstname=f"Bench{contact_id}", lastname="Lead",
                        jobtitle="VP Engineering" if warm else "Student", lifecyclestage="lead",
                        associatedcompanyid=company_id, recent_conversion_event_name="Demo request",
                        recent_conversion_date=to_utc_iso(now - timedelta(minutes=1)),
                        hs_analytics_num_page_views="14",
                        hs_analytics_last_visit_timestamp=to_utc_iso(now - timedelta(minutes=1)))


@contextmanager
def running_service(hubspot: FakeHubSpot, slack: FakeSlack):
    """Start `python -m bot run` on SQLite in a temp dir; yield its webhook URL."""
    workdir = Path(tempfile.mkdtemp(prefix="handoff-bench-"))
    config = workdir / "config"
    shutil.copytree(REPO / "config", config)
    (config / "routing.yaml").write_text(ROUTING)
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3", "BOT_CONFIG_DIR": str(config), "PORT": str(port),
        "HUBSPOT_ACCESS_TOKEN": "pat-na1-bench", "HUBSPOT_CLIENT_SECRET": SECRET,
        "HUBSPOT_API_BASE_URL": hubspot.base_url, "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-slack-secret", "SLACK_API_BASE_URL": slack.base_url,
        "HANDOFF_WORKER_POLL_SECONDS": "0.02",
        # 10 single-contact webhooks a second need ~30 HubSpot calls a second: more than the default budget of
        # 90 per 10 s (sized for HubSpot's smallest tier), which would make the bench measure the budget's waits.
        "HUBSPOT_CALLS_PER_10S": os.environ.get("HUBSPOT_CALLS_PER_10S", "1000")}
    process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=REPO, env=env,
                               stdout=open(workdir / "service.log", "wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        yield base + "/hubspot/webhooks"
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError("the service did not become healthy")


def post_events(url: str, events: list[dict]) -> float:
    """POST one signed batch; return the time it was answered (the event is stored by then)."""
    body, headers = signed_webhook(SECRET, url, events)
    response = requests.post(url, data=body, headers=headers, timeout=10)
    response.raise_for_status()
    return time.monotonic()


def conversion_event(contact_id: str, event_id: int) -> dict:
    return contact_event("contact.propertyChange", contact_id, event_id=event_id,
                         property_name="recent_conversion_event_name", property_value="Demo request")
