"""A worker process killed with SIGKILL mid-batch, then restarted, delivers every alert exactly once."""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.store.schema import effects, leads
from tests.fakes.fake_hubspot import FakeHubSpot
from tests.fakes.fake_slack import FakeSlack
from tests.harness import REPO, System, add_people, wait_for, write_config

CONTACTS = 20


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)



@pytest.fixture
def crash_system(tmp_path, sqlite_engine):
    with FakeHubSpot() as hubspot, FakeSlack() as slack:
        add_people(hubspot, slack, "201")
        system = System(sqlite_engine, write_config(tmp_path / "config", routing=(
            'sdr_pool: ["201"]\nmanagers: []\nslack_users: {}\n'
            'channels: {leads: "C0LEADS", managers: "C0MGRS", fallback: "C0FALLBACK"}\n')), hubspot, slack,
            start=None)   # the worker subprocess runs on the real clock
        yield system


def test_a_worker_killed_mid_batch_delivers_every_alert_exactly_once(crash_system, tmp_path):
    system = crash_system
    for i in range(CONTACTS):
        system.add_warm_contact(str(600 + i))
    events = [system.event("contact.propertyChange", str(600 + i), property_name="recent_conversion_event_name",
                           property_value="Demo request") for i in range(CONTACTS)]
    assert system.post_webhook(events).status_code == 204
    system.slack.latency = 0.15   # slow Slack, so the kill lands while posts are in flight
    env = os.environ | {
        "DATABASE_URL": str(system.svc.engine.url), "BOT_CONFIG_DIR": system.settings.config_dir,
        "HUBSPOT_ACCESS_TOKEN": "pat-na1-test", "HUBSPOT_API_BASE_URL": system.hubspot.base_url,
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_BASE_URL": system.slack.base_url,
        "HANDOFF_LEASE_SECONDS": "2", "HANDOFF_WORKER_POLL_SECONDS": "0.05",
    }
    log_path = tmp_path / "worker.log"
    first = start_worker(env, log_path)
    wait_for(lambda: system.slack.count("chat.postMessage") >= 5, 60, "the first posts")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    second = start_worker(env, log_path)
    try:
        wait_for(lambda: _all_delivered(system), 90, "every alert after the restart")
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(30)
    keys = collections.Counter(m["metadata"]["event_payload"]["effect_key"] for m in system.posts()
                               if m.get("metadata"))
    assert len(keys) == 2 * CONTACTS, log_path.read_text()[-3000:]
    assert set(keys.values()) == {1}, "a Slack alert was posted twice"
    assert len(system.mql_writes()) == CONTACTS
    assert len({cid for cid, _ in system.mql_writes()}) == CONTACTS


def _all_delivered(system: System) -> bool:
    with system.svc.engine.connect() as conn:
        lead_count = conn.execute(select(func.count()).select_from(leads)).scalar_one()
        open_effects = conn.execute(select(func.count()).where(effects.c.state != "done")).scalar_one()
    return lead_count == CONTACTS and open_effects == 0 and len(system.posts()) >= 2 * CONTACTS
