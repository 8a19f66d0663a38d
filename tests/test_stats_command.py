"""`/handoff stats` and `/handoff stats team [NAME]` through the real Slack app, on SQLite and PostgreSQL: the
figures come from bot.report over the last 7 days (tests/test_report.py's hand-checked ledger)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from tests.harness import System, write_config
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


def answer(system: System, user: str, text: str) -> str:
    response = system.command(user, text)
    assert response.status_code == 200
    return response.get_data(as_text=True)


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
