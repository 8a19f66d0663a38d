"""The whole service against fake HubSpot and Slack servers on loopback: real clients, real HTTP,
a real database, the Flask app through its test client, and the worker driven step by step."""
from __future__ import annotations

import json
import shutil
import time
from urllib.parse import urlencode
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from bot import outbox, worker
from bot.app import create_app
from bot.models import to_utc_iso
from bot.services import Services
from bot.settings import Settings
from bot.store.inbox import DEBOUNCE
from bot.store.schema import effects, leads, scores
from bot.sweeper import escalate_one
from tests.fakes.fake_hubspot import FakeHubSpot, contact_event, signed_webhook
from tests.fakes.fake_slack import FakeSlack, block_action_body, sign_slack_request

REPO = Path(__file__).resolve().parent.parent
HUBSPOT_SECRET = "hubspot-client-secret-for-tests"
SLACK_SECRET = "slack-signing-secret-for-tests"
APP_ID = 9393361
WEBHOOK_URL = "http://localhost/hubspot/webhooks"

ROUTING_YAML = """\
sdr_pool: ["201", "202"]
managers: ["UMANAGER"]
slack_users: {}
channels:
  leads: "C0LEADS"
  managers: "C0MGRS"
  fallback: "C0FALLBACK"
"""


def wait_for(condition, timeout: float = 5.0, what: str = "the condition") -> None:
    """Bolt runs listeners after ack() on its own threads, and subprocesses run on their own: wait, bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


# A Wednesday, 10:00 in New York (the shipped sla.yaml's zone): business hours, no holiday near.
BUSINESS_MORNING = datetime(2026, 11, 18, 15, 0, tzinfo=timezone.utc)


class Clock:
    """The service's clock, moved by the test (HubSpot data is made relative to it)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


# The people tests route leads to: HubSpot owner id -> (email, first name, last name, Slack user id and name, or
# None for an owner without a Slack account).
PEOPLE = {"201": ("rep1@example.com", "Riley", "Rep", ("U0REP1", "riley")),
          "202": ("rep2@example.com", "Sasha", "Rep", ("U0REP2", "sasha")),
          "301": ("nobody@example.com", "Noel", "Noslack", None),
          "401": ("ae@example.com", "Avery", "Exec", None)}


def add_people(hubspot: FakeHubSpot, slack: FakeSlack, *owner_ids: str) -> None:
    """These PEOPLE as HubSpot owners, and as Slack users where they have an account."""
    for owner_id in owner_ids:
        email, first, last, account = PEOPLE[owner_id]
        hubspot.add_owner(owner_id, email, first, last)
        if account is not None:
            slack.add_user(account[0], email, account[1])


def write_config(directory: Path, routing: str = ROUTING_YAML, sla_overrides: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("scoring.yaml", "sla.yaml"):
        shutil.copy(REPO / "config" / name, directory / name)
    (directory / "routing.yaml").write_text(routing)
    if sla_overrides:
        (directory / "sla.yaml").write_text((directory / "sla.yaml").read_text() + "\n" + sla_overrides)
    return directory


class System:
    def __init__(self, engine, config_dir: Path, hubspot: FakeHubSpot, slack: FakeSlack,
                 start: datetime | None = BUSINESS_MORNING, **settings):
        """`start=None` follows the real clock (for tests where a separate process does the work)."""
        self.hubspot, self.slack, self.clock = hubspot, slack, Clock(start)
        self.settings = Settings(
            database_url=str(engine.url), config_dir=str(config_dir),
            hubspot_access_token="pat-na1-test-token", hubspot_client_secret=HUBSPOT_SECRET,
            hubspot_api_base_url=hubspot.base_url, slack_bot_token="xoxb-test-token",
            slack_signing_secret=SLACK_SECRET, slack_api_base_url=slack.base_url, **settings)
        self.svc = Services.build(self.settings, engine)
        self.svc.clock = self.clock
        self.app = create_app(self.svc)
        self.client = self.app.test_client()
        self._event_id = 1000

    # --- HubSpot side -------------------------------------------------------------------------
    def add_warm_contact(self, contact_id: str, owner_id: str | None = None, **overrides) -> None:
        """A VP at a 250-person software company who requested a demo 2 min ago and viewed 14 pages."""
        now = self.clock.now
        company_id = f"9{contact_id}"
        self.hubspot.add_company(company_id, name="Acme Analytics", numberofemployees="250",
                                 industry="COMPUTER_SOFTWARE", country="United States")
        props = {"firstname": "Ada", "lastname": "Lovelace", "email": f"ada{contact_id}@acme.example",
                 "jobtitle": "VP Engineering", "company": "Acme Analytics", "country": "United States",
                 "lifecyclestage": "lead", "associatedcompanyid": company_id,
                 "recent_conversion_event_name": "Demo request",
                 "recent_conversion_date": to_utc_iso(now - timedelta(minutes=2)),
                 "hs_analytics_num_page_views": "14",
                 "hs_analytics_last_visit_timestamp": to_utc_iso(now - timedelta(minutes=2))}
        if owner_id:
            props["hubspot_owner_id"] = owner_id
        self.hubspot.add_contact(contact_id, **(props | overrides))

    def demo_request(self, contact_id: str, **fields) -> dict:
        """The webhook event of a form submission (HubSpot's recent-conversion property changing)."""
        return self.event("contact.propertyChange", contact_id, property_name="recent_conversion_event_name",
                          property_value="Demo request", **fields)

    def new_lead(self, contact_id: str, *, event_fields: dict | None = None, **contact) -> int:
        """A warm contact requests a demo and the worker handles it: the id of its new lead."""
        self.add_warm_contact(contact_id, **contact)
        self.post_webhook([self.demo_request(contact_id, **(event_fields or {}))])
        self.drain()
        return next(lead.id for lead in reversed(self.leads()) if lead.contact_id == contact_id)

    def add_cold_contact(self, contact_id: str) -> None:
        self.hubspot.add_contact(contact_id, firstname="Sam", jobtitle="Student", lifecyclestage="subscriber",
                                 hs_analytics_num_page_views="3",
                                 hs_analytics_last_visit_timestamp=to_utc_iso(self.clock.now))

    def event(self, event_type: str, object_id: str, **fields) -> dict:
        self._event_id += 1
        fields.setdefault("event_id", self._event_id)
        return contact_event(event_type, object_id, appId=APP_ID, **fields)

    def post_webhook(self, events: list[dict], **kwargs):
        body, headers = signed_webhook(HUBSPOT_SECRET, WEBHOOK_URL, events, **kwargs)
        return self.client.post("/hubspot/webhooks", data=body, headers=headers)

    # --- the worker ---------------------------------------------------------------------------
    def drain(self, rounds: int = 40) -> None:
        """Let debounce pass and run worker + outbox until neither has work."""
        self.clock.advance(seconds=DEBOUNCE.total_seconds() + 0.01)
        for _ in range(rounds):
            if not (worker.process_one_batch(self.svc) | outbox.run_one_batch(self.svc)):
                return
        raise AssertionError("the worker never ran out of work")

    def sweep(self) -> int:
        swept = 0
        while escalate_one(self.svc):
            swept += 1
        return swept

    # --- Slack side ---------------------------------------------------------------------------
    def click(self, action_id: str, lead_id: int, user_id: str, *, message_ts: str = "1.1",
              trigger_id: str | None = None):
        body = block_action_body(user_id=user_id, action_id=action_id, value=str(lead_id), channel="C0LEADS",
                                 message_ts=message_ts, response_url=self.slack.response_url(),
                                 trigger_id=trigger_id or self.slack.new_trigger_id())
        return self.post_slack(body, "application/x-www-form-urlencoded")

    def submit(self, callback_id: str, lead_id: int, user_id: str, values: dict):
        """A view_submission of one of our modals, with state values as Slack sends them."""
        payload = {"type": "view_submission", "team": {"id": "T0001", "domain": "handoff-test"},
                   "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0001"},
                   "api_app_id": "A0HANDOFF", "token": "verification_token", "trigger_id": "1.T0001.submit",
                   "view": {"id": "V0FORM", "type": "modal", "callback_id": callback_id, "team_id": "T0001",
                            "private_metadata": str(lead_id), "hash": "1.1", "blocks": [],
                            "state": {"values": values}}}
        return self.post_slack(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def command(self, user_id: str, text: str):
        body = urlencode({"token": "x", "team_id": "T0001", "team_domain": "handoff-test", "channel_id": "D0",
                          "channel_name": "directmessage", "user_id": user_id, "user_name": user_id.lower(),
                          "command": "/handoff", "text": text, "api_app_id": "A0HANDOFF",
                          "response_url": self.slack.response_url(), "trigger_id": self.slack.new_trigger_id()})
        return self.post_slack(body, "application/x-www-form-urlencoded")

    def slack_event(self, event: dict, event_id: str, retry: int | None = None):
        body = json.dumps({"token": "x", "team_id": "T0001", "api_app_id": "A0HANDOFF", "event": event,
                           "type": "event_callback", "event_id": event_id, "event_time": 1764000000})
        extra = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return self.post_slack(body, "application/json", extra)

    def post_slack(self, body: str, content_type: str, extra: dict | None = None):
        headers = sign_slack_request(SLACK_SECRET, body) | {"Content-Type": content_type} | (extra or {})
        return self.client.post("/slack/events", data=body, headers=headers)

    # --- what happened ------------------------------------------------------------------------
    def leads(self) -> list:
        with self.svc.engine.connect() as conn:
            return list(conn.execute(select(leads).order_by(leads.c.id)))

    def scores(self) -> list:
        with self.svc.engine.connect() as conn:
            return list(conn.execute(select(scores).order_by(scores.c.id)))

    def effects(self, state: str | None = None) -> list:
        query = select(effects).order_by(effects.c.id)
        with self.svc.engine.connect() as conn:
            return [r for r in conn.execute(query) if state is None or r.state == state]

    def mql_writes(self) -> list[tuple[str, dict]]:
        return [(cid, props) for cid, props in self.hubspot.updates
                if props.get("lifecyclestage") == "marketingqualifiedlead" or props.get("hs_lead_status") == "NEW"]

    def posts(self, channel_prefix: str = "") -> list[dict]:
        return [m for channel, messages in self.slack.messages.items() if channel.startswith(channel_prefix)
                for m in messages]

    def card_text(self, message: dict) -> str:
        return json.dumps(message.get("blocks")) + message.get("text", "")
