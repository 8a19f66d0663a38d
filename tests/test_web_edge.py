"""The web edge: what each bad request gets, and that nothing is stored for it."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.services import Services
from bot.settings import Settings
from bot.store.db import make_engine
from bot.store.schema import inbox_events
from tests.fakes.fake_hubspot import contact_event, signed_webhook
from tests.harness import HUBSPOT_SECRET, WEBHOOK_URL, write_config


@pytest.fixture
def config_dir(tmp_path):
    return write_config(tmp_path / "config")


@pytest.fixture
def app(engine, config_dir):
    settings = Settings(database_url=str(engine.url), config_dir=str(config_dir),
                        hubspot_client_secret=HUBSPOT_SECRET, slack_signing_secret="s3cret-signing")
    return create_app(Services.build(settings, engine))


def stored(app) -> int:
    with app.extensions["handoff"].engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(inbox_events)).scalar_one()


def events(n: int = 1) -> list[dict]:
    return [contact_event("contact.creation", str(700 + i), event_id=5000 + i) for i in range(n)]


def test_a_signed_batch_of_100_is_stored_before_the_answer(app):
    body, headers = signed_webhook(HUBSPOT_SECRET, WEBHOOK_URL, events(100))
    assert app.test_client().post("/hubspot/webhooks", data=body, headers=headers).status_code == 204
    assert stored(app) == 100


def tamper(headers: dict, **changes) -> dict:
    return {**headers, **changes}


@pytest.mark.parametrize("name, change", [
    ("forged", lambda b, h: (b, tamper(h, **{"X-HubSpot-Signature-v3": "AAAA" + h["X-HubSpot-Signature-v3"][4:]}))),
    ("missing", lambda b, h: (b, {k: v for k, v in h.items() if k != "X-HubSpot-Signature-v3"})),
    ("body changed", lambda b, h: (b.replace(b"700", b"701"), h)),
    ("stale", lambda b, h: signed_webhook(HUBSPOT_SECRET, WEBHOOK_URL, events(),
                                          timestamp_ms=int(time.time() * 1000) - 301_000)),
    ("future", lambda b, h: signed_webhook(HUBSPOT_SECRET, WEBHOOK_URL, events(),
                                           timestamp_ms=int(time.time() * 1000) + 301_000)),
    ("other url", lambda b, h: signed_webhook(HUBSPOT_SECRET, "https://evil.example/hubspot/webhooks", events())),
])
def test_a_bad_signature_gets_401_and_stores_nothing(app, name, change):
    body, headers = change(*signed_webhook(HUBSPOT_SECRET, WEBHOOK_URL, events()))
    response = app.test_client().post("/hubspot/webhooks", data=body, headers=headers)
    assert response.status_code == 401, name
    assert stored(app) == 0


@pytest.mark.parametrize("body", [b"not json", b'{"eventId": 1}', b"[1, 2]", b""])
def test_a_body_that_is_not_a_list_of_events_gets_400(app, body):
    _, headers = signed_webhook(HUBSPOT_SECRET, WEBHOOK_URL, [])
    from integrations.hubspot.signature import sign_v3
    headers["X-HubSpot-Signature-v3"] = sign_v3(HUBSPOT_SECRET, "POST", WEBHOOK_URL, body,
                                                headers["X-HubSpot-Request-Timestamp"])
    response = app.test_client().post("/hubspot/webhooks", data=body, headers=headers)
    assert response.status_code == 400 and stored(app) == 0


def test_a_body_over_1mb_gets_413(app):
    body = b"[" + b" " * (1024 * 1024) + b"]"
    response = app.test_client().post("/hubspot/webhooks", data=body,
                                      headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and stored(app) == 0


def test_events_with_missing_fields_are_acknowledged_and_ignored(app):
    broken = [{"subscriptionType": "contact.creation", "objectId": 1}]
    body, headers = signed_webhook(HUBSPOT_SECRET, WEBHOOK_URL, broken + events(1))
    assert app.test_client().post("/hubspot/webhooks", data=body, headers=headers).status_code == 204
    assert stored(app) == 1


def test_the_signed_url_follows_public_base_url_or_the_proxy_headers(engine, config_dir):
    public = "https://handoff.example.com"
    settings = Settings(database_url=str(engine.url), config_dir=str(config_dir),
                        hubspot_client_secret=HUBSPOT_SECRET, public_base_url=public)
    app = create_app(Services.build(settings, engine))
    body, headers = signed_webhook(HUBSPOT_SECRET, public + "/hubspot/webhooks?portal=1", events())
    assert app.test_client().post("/hubspot/webhooks?portal=1", data=body, headers=headers).status_code == 204
    proxied = Settings(database_url=str(engine.url), config_dir=str(config_dir), hubspot_client_secret=HUBSPOT_SECRET)
    app = create_app(Services.build(proxied, engine))
    body, headers = signed_webhook(HUBSPOT_SECRET, "https://hooks.example.org/hubspot/webhooks",
                                   events(2)[1:])
    headers |= {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.org"}
    assert app.test_client().post("/hubspot/webhooks", data=body, headers=headers).status_code == 204


def test_an_unreachable_database_gets_503_so_hubspot_retries(config_dir):
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=1")
    settings = Settings(database_url=str(engine.url), config_dir=str(config_dir), hubspot_client_secret=HUBSPOT_SECRET)
    app = create_app(Services.build(settings, engine))
    body, headers = signed_webhook(HUBSPOT_SECRET, WEBHOOK_URL, events())
    assert app.test_client().post("/hubspot/webhooks", data=body, headers=headers).status_code == 503
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and "unreachable" in health.get_json()["database"]


def test_healthz_names_what_is_not_configured(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "hubspot": "not configured", "slack": "not configured"}


def test_metrics_are_prometheus_text(app):
    body, headers = signed_webhook(HUBSPOT_SECRET, WEBHOOK_URL, events(3))
    client = app.test_client()
    client.post("/hubspot/webhooks", data=body, headers=headers)
    text = client.get("/metrics").get_data(as_text=True)
    assert "handoff_inbox_pending 3" in text
    assert 'handoff_http_requests_total{route="hubspot",status="204"} 1' in text


def test_slack_requests_with_a_bad_signature_get_401(app):
    body = "payload=" + json.dumps({"type": "block_actions"})
    headers = {"X-Slack-Signature": "v0=deadbeef", "X-Slack-Request-Timestamp": str(int(time.time())),
               "Content-Type": "application/x-www-form-urlencoded"}
    assert app.test_client().post("/slack/events", data=body, headers=headers).status_code == 401


def test_slack_requests_without_a_signing_secret_get_401(engine, config_dir):
    settings = Settings(database_url=str(engine.url), config_dir=str(config_dir))
    app = create_app(Services.build(settings, engine))
    assert app.test_client().post("/slack/events", data="payload={}").status_code == 401
