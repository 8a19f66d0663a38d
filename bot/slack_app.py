"""Bolt listeners: ack() first (Slack's 3 s), then one call into bot.actions or bot.queries; never raise
(a raise after ack() can turn Bolt's 200 into a 404, slack.md §3.4). Nothing here calls HubSpot."""
from __future__ import annotations

import logging
from typing import Any, Callable

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import actions, queries, slack_views
from bot.services import Services
from bot.slack_blocks import not_assignee_text
from bot.store import kv

log = logging.getLogger("handoff.slack")
MODAL_BUTTONS = ("reassign_lead", "snooze_lead", "log_touch", "qualify_lead", "disqualify_lead")
DEFAULT_SNOOZE_MINUTES = 60


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
    app.middleware(_once_per_event(svc))
    app.action("accept_lead")(_safe(lambda ack, body, respond, client: _accept(svc, body, respond)))
    for action_id in MODAL_BUTTONS:
        app.action(action_id)(_safe(lambda ack, body, respond, client, _id=action_id:
                                    _open_form(svc, _id, body, respond, client)))
    for callback_id, submit in SUBMITS.items():
        app.view(callback_id)(_submission(svc, submit))
    # Stats count a week of the ledger, which can outlast Slack's 3 s: ack at once, the figures follow. A lazy
    # listener, so this holds with process_before_response=True too (the ack is then not held up by the work).
    app.command("/handoff", matchers=[_asks_for_stats])(ack=_ack_stats, lazy=[_reply_with_stats(svc)])
    app.command("/handoff")(_command(svc))   # Bolt runs the first listener that matches: stats never reach here
    app.event("app_home_opened")(_safe(lambda ack, body, respond, client: _publish_home(svc, body, client)))


def _safe(listener: Callable[..., None]) -> Callable[..., None]:
    """ack() at once, then the work; any failure is logged and told to the user, never raised."""
    def run(ack, body, respond, client):
        ack()
        try:
            listener(ack, body, respond, client)
        except Exception:
            log.exception("Slack listener failed")
            if body.get("response_url"):
                respond(response_type="ephemeral", replace_original=False,
                        text="Handoff could not do that just now. Please try again.")
    return run


def _once_per_event(svc: Services):
    """Slack retries an event it thinks failed (X-Slack-Retry-Num): handle each event_id once."""
    def middleware(body, next, logger):
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            with svc.engine.begin() as conn:
                if not kv.first_delivery(conn, event_id, svc.clock()):
                    return BoltResponse(status=200, body="")
        return next()
    return middleware


# --- buttons ------------------------------------------------------------------------------------

def _lead_id(body: dict) -> int:
    value = str(body["actions"][0].get("value", ""))
    return int(value) if value.isdigit() else -1


def _accept(svc: Services, body: dict, respond) -> None:
    outcome = actions.accept_lead(svc, _lead_id(body), body["user"]["id"], svc.clock())
    _tell(respond, outcome)


def _tell(respond, outcome: actions.Outcome) -> None:
    """Say something only when there is something to say (the card itself shows success)."""
    text = not_assignee_text(outcome.assignee) if outcome.kind == actions.NOT_ALLOWED else outcome.message
    if text and outcome.kind != actions.ACCEPTED:
        respond(response_type="ephemeral", replace_original=False, text=text)


def _open_form(svc: Services, action_id: str, body: dict, respond, client: WebClient) -> None:
    lead_id, user_id = _lead_id(body), body["user"]["id"]
    view, refused = queries.form_for(svc, action_id, lead_id, user_id, svc.clock())
    if refused is not None:
        _tell(respond, refused)
        return
    try:
        client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as error:
        # The trigger lives 3 s and serves once: when it is gone, act without the form where we can.
        if error.response.get("error") not in ("expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"):
            raise
        _without_form(svc, action_id, lead_id, user_id, respond)


def _without_form(svc: Services, action_id: str, lead_id: int, user_id: str, respond) -> None:
    now = svc.clock()
    if action_id == "snooze_lead":
        outcome = actions.snooze_lead(svc, lead_id, user_id, DEFAULT_SNOOZE_MINUTES, now)
        note = "The snooze form could not open in time, so the lead is snoozed for 1 h."
    elif action_id == "log_touch":
        outcome = actions.log_touch(svc, lead_id, user_id, "other", "", now)
        note = "The form could not open in time, so a touch of kind 'other' was logged."
    else:
        respond(response_type="ephemeral", replace_original=False,
                text="Slack took too long to open the form. Press the button again to retry.")
        return
    respond(response_type="ephemeral", replace_original=False, text=f"{note} {outcome.message or ''}".strip())


# --- forms --------------------------------------------------------------------------------------

def _submission(svc: Services, submit: Callable[[Services, int, str, dict], actions.Outcome | dict]):
    """Validate, act, and answer in the ack: inline errors, or an empty 200 that closes the form."""
    def listener(ack, body, view):
        try:
            lead_id = int(view.get("private_metadata") or -1)
            result = submit(svc, lead_id, body["user"]["id"], view["state"]["values"])
        except Exception:
            log.exception("form submission failed")
            ack(response_action="errors", errors={_first_block(view): "Handoff could not save this. Try again."})
            return
        if isinstance(result, dict):   # inline validation errors: nothing was written
            ack(response_action="errors", errors=result)
        elif result.kind in (actions.NOT_ALLOWED, actions.UNKNOWN_LEAD, actions.INVALID):
            message = not_assignee_text(result.assignee) if result.kind == actions.NOT_ALLOWED else result.message
            ack(response_action="errors", errors={_first_block(view): message or "Not allowed."})
        else:
            ack()   # done, or already done (a second submit of the same form): one decision either way
    return listener


def _first_block(view: dict) -> str:
    return next((b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"), "notes")


def _submit_bant(svc: Services, lead_id: int, user_id: str, values: dict) -> actions.Outcome | dict:
    now = svc.clock()
    bant = slack_views.parse_bant(values)
    errors = slack_views.bant_errors(bant, svc.config.routing.sql_requires, now.date())
    if errors:
        return errors
    return actions.qualify_lead(svc, lead_id, user_id, bant, slack_views.bant_summary(bant), now)


def _submit_disqualify(svc: Services, lead_id: int, user_id: str, values: dict) -> actions.Outcome | dict:
    reason, other = slack_views.parse_disqualify(values)
    errors = slack_views.disqualify_errors(reason, other)
    if not errors and reason not in svc.config.routing.disqualify_reasons:   # a forged payload's reason
        errors = {"dq_reason": "Choose one of the reasons in the list."}
    if errors:
        return errors
    text = f"Other: {other}" if reason == "Other" else reason
    return actions.disqualify_lead(svc, lead_id, user_id, text, svc.clock())


def _submit_reassign(svc: Services, lead_id: int, user_id: str, values: dict) -> actions.Outcome | dict:
    to, reason = slack_views.parse_reassign(values)
    errors = slack_views.reassign_errors(to, reason)
    if errors:
        return errors
    return actions.reassign_lead(svc, lead_id, user_id, to, reason.strip(), svc.clock())


def _submit_snooze(svc: Services, lead_id: int, user_id: str, values: dict) -> actions.Outcome | dict:
    minutes = slack_views.parse_snooze(values)
    errors = slack_views.snooze_errors(minutes, svc.config.sla.max_snooze)
    if errors:
        return errors
    return actions.snooze_lead(svc, lead_id, user_id, minutes, svc.clock())


def _submit_touch(svc: Services, lead_id: int, user_id: str, values: dict) -> actions.Outcome | dict:
    kind, note = slack_views.parse_touch(values)
    errors = slack_views.touch_errors(kind, note)
    if errors:
        return errors
    return actions.log_touch(svc, lead_id, user_id, kind, note or "", svc.clock())


SUBMITS = {"bant_submit": _submit_bant, "disqualify_submit": _submit_disqualify,
           "reassign_submit": _submit_reassign, "snooze_submit": _submit_snooze, "touch_submit": _submit_touch}


# --- /handoff and App Home ----------------------------------------------------------------------

def _command(svc: Services):
    def listener(ack, command):
        try:
            text = queries.answer_command(svc, command["user_id"], command.get("text", ""), svc.clock())
        except Exception:
            log.exception("/handoff failed")
            text = "Handoff could not answer just now. Please try again."
        ack(response_type="ephemeral", text=text)
    return listener


def _asks_for_stats(command: dict) -> bool:
    """`/handoff stats …`, the subcommand too slow to answer inside the ack."""
    return command.get("text", "").strip().partition(" ")[0].lower() == "stats"


def _ack_stats(ack) -> None:
    ack(response_type="ephemeral", text=slack_views.stats_pending_text())


def _reply_with_stats(svc: Services):
    def reply_with_stats(command: dict, respond) -> None:
        """The stats through the command's response_url; a failure is told to the rep, never left silent."""
        try:
            text = queries.answer_command(svc, command["user_id"], command.get("text", ""), svc.clock())
        except Exception:
            log.exception("/handoff stats failed")
            text = slack_views.stats_failed_text()
        try:
            # A new ephemeral: a response_url cannot replace the ack's message of a slash command (slack.md §2.4).
            sent = respond(response_type="ephemeral", replace_original=False, text=text)
        except Exception:
            log.exception("/handoff stats could not be sent")
            return
        if sent.status_code != 200:
            log.error("/handoff stats not delivered: response_url answered HTTP %s", sent.status_code)
    return reply_with_stats


def _publish_home(svc: Services, body: dict, client: WebClient) -> None:
    event: dict[str, Any] = body.get("event", {})
    if event.get("tab", "home") != "home":
        return
    user_id = event["user"]
    client.views_publish(user_id=user_id, view=queries.home_for(svc, user_id, svc.clock()))
