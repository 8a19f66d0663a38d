"""create_app(): the only wiring place for the web process (Flask blueprints + the Bolt handler)."""
from __future__ import annotations

import time

from flask import Flask, Response, jsonify, request
from slack_bolt.adapter.flask import SlackRequestHandler
from werkzeug.exceptions import HTTPException

from bot import web
from bot.services import Services
from bot.settings import Settings
from bot.slack_app import build_bolt_app

MAX_BODY_BYTES = 1024 * 1024   # HubSpot batches are far smaller; anything larger is refused with 413


def create_app(services: Services | None = None) -> Flask:
    svc = services or Services.build(Settings.from_env())
    app = Flask("handoff")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["handoff"] = svc
    app.register_blueprint(web.bp)
    _mount_slack(app, svc)
    app.register_error_handler(HTTPException, _http_error)
    _reload_config_now_and_then(app, svc)
    return app


def _reload_config_now_and_then(app: Flask, svc: Services, every_seconds: float = 5.0) -> None:
    """The web process sees config edits too (managers, channels) without a restart."""
    checked = [time.monotonic()]

    @app.before_request
    def _refresh() -> None:
        if time.monotonic() - checked[0] >= every_seconds:
            checked[0] = time.monotonic()
            svc.refresh_config()


def _mount_slack(app: Flask, svc: Services) -> None:
    handler = SlackRequestHandler(build_bolt_app(svc)) if svc.settings.slack_signing_secret else None

    @app.post("/slack/events")
    def slack_events() -> Response:
        if handler is None:   # no signing secret: nothing from Slack can be trusted
            return web.answer("slack", 401, "SLACK_SIGNING_SECRET is not set")
        return handler.handle(request)


def _http_error(error: HTTPException) -> Response:
    """Generic JSON errors: no tracebacks, no echo of the request."""
    response = jsonify({"error": error.description if error.code == 413 else error.name})
    response.status_code = error.code or 500
    return response
