"""Bolt listeners: ack() first (Slack's 3 s), then one call into bot.actions; never raise (a raise after
ack() can turn Bolt's 200 into a 404, slack.md §3.4)."""
from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot import actions
from bot.services import Services
from bot.slack_blocks import not_assignee_text

log = logging.getLogger("handoff.slack")


def build_bolt_app(svc: Services) -> App:
    """A Bolt app in HTTP mode; `authorize` avoids an auth.test round trip on the request path."""
    settings = svc.settings

    def authorize(enterprise_id=None, team_id=None, **_kwargs) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=settings.slack_bot_token)

    app = App(signing_secret=settings.slack_signing_secret, authorize=authorize,
              client=WebClient(base_url=settings.slack_api_base_url, retry_handlers=[]))
    register(app, svc)
    return app


def register(app: App, svc: Services) -> None:
    @app.action("accept_lead")
    def on_accept(ack, body, respond):
        ack()
        try:
            _accept(svc, body, respond)
        except Exception:
            log.exception("accept failed")
            respond(response_type="ephemeral", replace_original=False,
                    text="Handoff could not record that just now. Please press Accept again.")


def _accept(svc: Services, body: dict, respond) -> None:
    user_id = body["user"]["id"]
    value = body["actions"][0].get("value", "")
    lead_id = int(value) if value.isdigit() else -1
    outcome = actions.accept_lead(svc, lead_id, user_id, svc.clock())
    reply = _reply_for(outcome, user_id)
    if reply:
        respond(response_type="ephemeral", replace_original=False, text=reply)


def _reply_for(outcome: actions.Outcome, user_id: str) -> str | None:
    if outcome.kind == actions.NOT_ALLOWED:
        return not_assignee_text(outcome.assignee)
    if outcome.kind == actions.UNKNOWN_LEAD:
        return "Handoff has no such lead any more."
    if outcome.kind == actions.ALREADY_DONE and outcome.accepted_by and outcome.accepted_by != user_id:
        return f"Already accepted by <@{outcome.accepted_by}>."
    if outcome.kind == actions.ALREADY_DONE and outcome.status == "closed":
        return "This lead is closed."
    return None
