"""POST /hubspot/webhooks, POST /hubspot/workflow, GET /healthz, GET /metrics. The edge verifies, parses and
stores; nothing else."""
from __future__ import annotations

import json
import logging
import time
from collections import Counter

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.metrics import render_metrics
from bot.services import Services
from bot.store import inbox, timeline
from bot.store.inbox import store_events
from integrations.hubspot.events import MalformedBatch, is_handled, parse_batch
from integrations.hubspot.signature import verify_v2, verify_v3
from integrations.hubspot.workflow import MalformedWorkflowCall, parse_workflow_call

log = logging.getLogger("handoff.web")
bp = Blueprint("handoff", __name__)


def services() -> Services:
    return current_app.extensions["handoff"]


def signed_uri(public_base_url: str | None) -> str:
    """The URL HubSpot called: PUBLIC_BASE_URL when set, else our URL as the proxy headers describe it."""
    query = request.query_string.decode("latin-1")
    path = request.path + (f"?{query}" if query else "")
    if public_base_url:
        return public_base_url + path
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    return f"{scheme}://{host}{path}"


def request_counts() -> Counter:
    """(route, status) -> requests answered by this app, for /metrics."""
    return current_app.extensions.setdefault("handoff_requests", Counter())


def answer(route: str, status: int, message: str | None = None) -> Response:
    request_counts()[(route, status)] += 1
    response = jsonify({"error": message}) if message else Response(status=status)
    response.status_code = status
    return response


@bp.post("/hubspot/webhooks")
def hubspot_webhooks() -> Response:
    svc = services()
    body = request.get_data(cache=True)   # the raw bytes: the signature covers them exactly
    secret = svc.settings.hubspot_client_secret
    problem = "HUBSPOT_CLIENT_SECRET is not set" if not secret else verify_v3(
        secret=secret, method=request.method, uri=signed_uri(svc.settings.public_base_url), body=body,
        timestamp=request.headers.get("X-HubSpot-Request-Timestamp"),
        signature=request.headers.get("X-HubSpot-Signature-v3"), now_ms=int(time.time() * 1000))
    if problem:
        log.warning("webhook refused: %s", problem)
        return answer("hubspot", 401, "invalid signature")
    return _store_batch(svc, body)


def _store_batch(svc: Services, body: bytes) -> Response:
    try:
        events, problems = parse_batch(body)
    except MalformedBatch as error:
        log.warning("webhook malformed: %s", error)
        return answer("hubspot", 400, str(error))
    for problem in problems:
        log.warning("webhook event ignored: %s", problem)
    handled = [e for e in events if is_handled(e)]
    for event in events:
        if not is_handled(event):
            log.info("webhook event ignored: type %s is not one Handoff handles", event.event_type)
    try:
        with svc.engine.begin() as conn:
            added = store_events(conn, handled, svc.clock())
    except SQLAlchemyError as error:   # HubSpot retries a 503: nothing is lost
        log.error("webhook not stored, answering 503: %s", type(error).__name__)
        return answer("hubspot", 503, "cannot store the batch right now")
    log.info("webhook stored: events=%d new=%d ignored=%d", len(events), added, len(events) - len(handled))
    return answer("hubspot", 204)


@bp.post("/hubspot/workflow")
def hubspot_workflow() -> Response:
    """A HubSpot workflow's "Send a webhook": signed v3 when HubSpot sends those headers, else v2 (with the
    app id set in the action, HubSpot signs with the app's client secret)."""
    svc = services()
    body = request.get_data(cache=True)
    problem = _workflow_signature_problem(svc, body)
    if problem:
        log.warning("workflow webhook refused: %s", problem)
        return answer("workflow", 401, "invalid signature")
    try:
        call = parse_workflow_call(body, svc.clock())
    except MalformedWorkflowCall as error:
        log.warning("workflow webhook malformed: %s", error)
        return answer("workflow", 400, str(error))
    try:
        with svc.engine.begin() as conn:
            if call.activity is not None:
                timeline.add_activity(conn, call.key, call.contact_id, call.activity, svc.clock())
            inbox.enqueue_rescore(conn, call.contact_id, call.key, None, svc.clock())
    except SQLAlchemyError as error:   # HubSpot retries workflow webhooks on 5xx for up to three days
        log.error("workflow webhook not stored, answering 503: %s", type(error).__name__)
        return answer("workflow", 503, "cannot store the call right now")
    log.info("workflow webhook stored: contact=%s activity=%s", call.contact_id,
             call.activity.kind if call.activity else "none")
    return answer("workflow", 204)


def _workflow_signature_problem(svc: Services, body: bytes) -> str | None:
    secret = svc.settings.hubspot_client_secret
    if not secret:
        return "HUBSPOT_CLIENT_SECRET is not set"
    uri = signed_uri(svc.settings.public_base_url)
    if request.headers.get("X-HubSpot-Signature-v3"):
        return verify_v3(secret=secret, method=request.method, uri=uri, body=body,
                         timestamp=request.headers.get("X-HubSpot-Request-Timestamp"),
                         signature=request.headers.get("X-HubSpot-Signature-v3"), now_ms=int(time.time() * 1000))
    return verify_v2(secret=secret, method=request.method, uri=uri, body=body,
                     signature=request.headers.get("X-HubSpot-Signature"))


@bp.get("/healthz")
def healthz() -> Response:
    svc = services()
    report = {"database": "ok",
              "hubspot": "configured" if svc.settings.hubspot_configured else "not configured",
              "slack": "configured" if svc.settings.slack_configured else "not configured"}
    try:
        with svc.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        report["database"] = f"unreachable ({type(error).__name__})"
        return Response(json.dumps(report), status=503, mimetype="application/json")
    return Response(json.dumps(report), status=200, mimetype="application/json")


@bp.get("/metrics")
def metrics() -> Response:
    svc = services()
    return Response(render_metrics(svc, request_counts()), mimetype="text/plain; version=0.0.4")

