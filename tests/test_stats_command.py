"""`/handoff stats` and `/handoff stats team [NAME]` through the real Slack app, on SQLite and PostgreSQL: the
figures come from bot.report over the last 7 days (tests/test_report.py's hand-checked ledger).

Slack wants a slash command acked within 3 s and a week of a big ledger can take longer, so the command acks at
once and the figures follow through its response_url (fake Slack's hooks)."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from flask import Flask, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from sqlalchemy import event

from bot.slack_app import register
from tests.harness import SLACK_SECRET, System, wait_for, write_config
from tests.ledger_data import insert
from tests.test_report import LEDGER

ROUTING = """\
sdr_pool: ["101", "103"]
territories:
  - {name: DACH, when: {country: [Germany]}, pool: ["103"]}
managers: ["UMANAGER"]
slack_users: {"101": "U0REP1", "103": "U0REP2"}
channels:
  leads: "C0LEADS"
  managers: "C0MGRS"
  fallback: "C0FALLBACK"
"""
# The last 7 days hold the ledger's second week: leads 5, 7, 8 (U0REP1, the SDR pool) and 6 (U0REP2, DACH).
NOW = datetime(2026, 11, 12, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def system(engine, tmp_path, fake_hubspot, fake_slack) -> System:
    system = System(engine, write_config(tmp_path / "config", routing=ROUTING), fake_hubspot, fake_slack, start=NOW)
    with engine.begin() as conn:
        # The ledger's reps as Slack ids routing.yaml accepts: U1 -> U0REP1, U2 -> U0REP2.
        insert(conn, [replace(spec, sdr=f"U0REP{spec.sdr[1:]}") for spec in LEDGER])
    return system


WORKING = "Working on your stats"
ACK_WITHIN = 3.0   # seconds: Slack's limit for a slash command's acknowledgment (specs/slack.md §2.3)


def answer(system: System, user: str, text: str) -> str:
    """The stats as they reach the rep: acked at once, then posted through the command's response_url."""
    posted = len(system.slack.hook_posts)
    response = system.command(user, text)
    assert response.status_code == 200 and WORKING in response.get_data(as_text=True)
    wait_for(lambda: len(system.slack.hook_posts) > posted, what="the stats on the response_url")
    [reply] = system.slack.hook_posts[posted:]
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    return reply["text"]


@contextmanager
def database_on_hold(engine, failure: Exception | None = None):
    """Every statement run off the test's own thread waits until the block ends (a ledger that takes long to
    read), or fails with `failure` (a database that errs). The request and Bolt's ack run without the database."""
    released, test_thread = threading.Event(), threading.get_ident()

    def hold(*_args) -> None:
        if threading.get_ident() != test_thread:
            if failure is not None:
                raise failure
            released.wait(timeout=30)

    event.listen(engine, "before_cursor_execute", hold)
    try:
        yield released
    finally:
        released.set()
        event.remove(engine, "before_cursor_execute", hold)


def test_a_named_teams_week_in_any_case(system):
    for name in ("DACH", "dach"):
        text = answer(system, "UMANAGER", f"stats team {name}")
        assert "*DACH: the last 7 days*" in text and "1 MQL, 0 SQLs among them (0%)" in text
        assert "<@U0REP2>: 1 of 1 lead met every deadline (100%)" in text and "<@U0REP1>" not in text


def test_without_a_name_it_is_the_callers_team(system):
    assert "*DACH: the last 7 days*" in answer(system, "U0REP2", "stats team")
    pool = answer(system, "U0REP1", "stats team")
    assert "*SDR pool: the last 7 days*" in pool and "3 MQLs, 1 SQL among them (33%)" in pool


def test_an_unknown_team_is_named_with_the_teams_there_are(system):
    assert "No team is called Nowhere. Teams: DACH, SDR pool." in answer(system, "U0REP1", "stats team Nowhere")


def test_a_reps_own_week_shows_their_sla_compliance_and_speed_to_lead(system):
    text = answer(system, "U0REP1", "stats")
    assert "*Your week*" in text
    # Leads 5, 7, 8: none missed a deadline; lead 8 alone was touched, 5 min after the prospect's action.
    assert "SLA compliance: 3 of 3 leads met every deadline (100%)" in text
    assert "Speed to lead: p50 5 min, p95 5 min over 1 lead" in text


def built_for_faas(system: System) -> System:
    """The same listeners on a Bolt app built for FaaS (process_before_response=True: the HTTP response waits for
    the ack listener to return, so only lazy listeners may do slow work)."""
    bolt = App(signing_secret=SLACK_SECRET, token="xoxb-test-token", token_verification_enabled=False,
               client=WebClient(base_url=system.slack.base_url, token="xoxb-test-token", retry_handlers=[]),
               process_before_response=True)
    register(bolt, system.svc)
    handler, app = SlackRequestHandler(bolt), Flask("handoff-faas")
    app.add_url_rule("/slack/events", "slack_events", lambda: handler.handle(request), methods=["POST"])
    system.client = app.test_client()
    return system


@pytest.mark.parametrize("text, title", [("stats", "*Your week*"), ("stats team DACH", "*DACH: the last 7 days*")])
@pytest.mark.parametrize("bolt", ["as deployed", "for FaaS"])
def test_the_command_is_acked_before_the_report_is_built_and_the_report_follows(system, text, title, bolt):
    system = built_for_faas(system) if bolt == "for FaaS" else system
    with database_on_hold(system.svc.engine) as released:
        started = time.monotonic()
        response = system.command("U0REP2", text)
        acked_in = time.monotonic() - started
        assert response.status_code == 200 and WORKING in response.get_data(as_text=True)
        assert acked_in < ACK_WITHIN
        time.sleep(0.3)
        assert system.slack.hook_posts == []   # the report is still being counted
        released.set()
        wait_for(lambda: system.slack.hook_posts, what="the stats on the response_url")
    [reply] = system.slack.hook_posts
    assert title in reply["text"] and WORKING not in reply["text"]


def test_a_report_that_cannot_be_built_is_told_to_the_rep(system):
    with database_on_hold(system.svc.engine, failure=RuntimeError("the database went away")):
        response = system.command("U0REP1", "stats team")
        assert response.status_code == 200 and WORKING in response.get_data(as_text=True)
        wait_for(lambda: system.slack.hook_posts, what="the failure on the response_url")
    [reply] = system.slack.hook_posts
    assert reply["text"] == ("Handoff could not put your stats together just now. "
                             "Please try `/handoff stats` again in a minute.")
    assert reply["response_type"] == "ephemeral"


def test_other_subcommands_still_answer_in_the_ack(system):
    response = system.command("U0REP1", "nonsense")
    assert "*/handoff* commands:" in response.get_data(as_text=True)
    time.sleep(0.2)
    assert system.slack.hook_posts == []
