"""sla.yaml's deadline keys: the fast lane, the cadence, the ladder's reassign step and twins, the daily breach limit.

Each bad value is one problem naming the file, its line and key; the keys left out take the seeds' defaults.
"""
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from bot.rules import BusinessDays, EscalationStep, check_config, load_config
from bot.rules.sla import BreachLimit, Cadence
from tests.config_text import with_changes

SHIPPED = Path(__file__).resolve().parent.parent / "config"

SLA = """\
timezone: America/New_York
business_hours:
  mon-fri: "09:00-17:00"
holidays: US
accept_within: 1h
fast_lane_accept_within: 5m
first_touch_within: 1h
cadence:
  touches: 7
  within: 10bd
escalation:
  - {at: 50%, do: remind_sdr}
  - {at: 100%, do: notify_managers}
  - {at: 150%, do: reassign}
breaches:
  per_day: 3
  then: mark_away
max_snooze: 4h
"""


def write_sla(directory: Path, text: str) -> Path:
    """The shipped scoring.yaml and routing.yaml with this sla.yaml."""
    for name in ("scoring.yaml", "routing.yaml"):
        shutil.copy(SHIPPED / name, directory / name)
    (directory / "sla.yaml").write_text(text)
    return directory


def assert_one_problem(directory: Path, line: int, key: str, words: str, severity: str = "error") -> None:
    """check-config finds exactly one problem, in sla.yaml, at this line and key, saying `words`."""
    problems = check_config(directory)
    assert [(p.file, p.line, p.key, p.severity) for p in problems] == [
        (str(directory / "sla.yaml"), line, key, severity)], "\n".join(map(str, problems))
    assert words in problems[0].message


def changed(*changes: str) -> str:
    return with_changes(SLA, *changes)


def test_every_new_key_loads_as_written(tmp_path):
    sla = load_config(write_sla(tmp_path, SLA)).sla
    assert (sla.accept_within, sla.fast_lane_accept_within) == (timedelta(hours=1), timedelta(minutes=5))
    assert sla.cadence == Cadence(touches=7, within=BusinessDays(10))
    assert sla.breaches == BreachLimit(per_day=3, then="mark_away")
    assert sla.escalation == (EscalationStep("remind_sdr", at_share=0.5),
                              EscalationStep("notify_managers", at_share=1.0), EscalationStep("reassign", at_share=1.5))


def test_left_out_keys_take_the_seeds_defaults(tmp_path):
    text = "".join(line for line in SLA.splitlines(keepends=True)[:7]) + "max_snooze: 4h\n"
    sla = load_config(write_sla(tmp_path, text)).sla
    assert sla.fast_lane_accept_within == timedelta(minutes=5)
    assert sla.cadence == Cadence(7, BusinessDays(10)) and sla.breaches == BreachLimit(3, "mark_away")
    assert [(step.action, step.at_share) for step in sla.escalation] == [("remind_sdr", 1.0), ("notify_managers", 2.0)]


@pytest.mark.parametrize("change, expected", [
    ("breaches:\n  per_day: 3\n  then: mark_away\n=>breaches: null\n", None),
    ("  then: mark_away\n=>", BreachLimit(3, "mark_away")),
    ("  per_day: 3\n=>  per_day: 5\n", BreachLimit(5, "mark_away")),
])
def test_the_daily_breach_limit_may_be_tuned_or_turned_off(tmp_path, change, expected):
    assert load_config(write_sla(tmp_path, changed(change))).sla.breaches == expected


@pytest.mark.parametrize("change", [
    "{at: 100%, do: notify_managers}=>{at: 50%, do: notify_managers}",      # same moment, another action
    "{at: 150%, do: reassign}=>{at: 30m, do: reassign}",                     # 30m = 50%, another action
    "{at: 100%, do: notify_managers}=>{at: 100%, do: remind_sdr}",          # same action, other moments
    "fast_lane_accept_within: 5m=>fast_lane_accept_within: 2h",             # longer than accept_within: unused
])
def test_ladders_without_twins_are_clean(tmp_path, change):
    assert check_config(write_sla(tmp_path, changed(change))) == []


ERRORS = [
    # (change, line, key, words)
    ("fast_lane_accept_within: 5m=>fast_lane_accept_within: -5m", 6, "fast_lane_accept_within",
     "expected a duration like 30s, 5m, 1h, 2d (got '-5m')"),
    ("fast_lane_accept_within: 5m=>fast_lane_accept_within: -300", 6, "fast_lane_accept_within",
     "must be longer than zero (got -300)"),
    ("fast_lane_accept_within: 5m=>fast_lane_accept_within: 1bd", 6, "fast_lane_accept_within",
     "business days (bd) only apply"),
    ("fast_lane_accept_within: 5m=>fast_lane_accept_within: asap", 6, "fast_lane_accept_within",
     "expected a duration like 30s, 5m, 1h, 2d (got 'asap')"),
    ("first_touch_within: 1h=>first_touch_within: -1h", 7, "first_touch_within",
     "expected a duration like 30s, 5m, 1h, 2d (got '-1h')"),
    ("first_touch_within: 1h=>first_touch_within: -3600", 7, "first_touch_within", "must be longer than zero"),
    ("first_touch_within: 1h=>first_touch_within: 0bd", 7, "first_touch_within", "must be longer than zero"),
    ("accept_within: 1h=>accept_within: -1h", 5, "accept_within", "expected a duration like 30s, 5m, 1h, 2d"),
    ("max_snooze: 4h=>max_snooze: 4 hours", 18, "max_snooze", "expected a duration like 30s, 5m, 1h, 2d"),
    ('  mon-fri: "09:00-17:00"=>  mon-wed: "09:00-17:00"\n  wed-fri: "10:00-18:00"', 2, "business_hours",
     "wed-fri overlaps mon-wed: Wednesday is given hours twice"),
    ("  touches: 7=>  touches: 0", 9, "cadence.touches", "must be at least 1 (got 0)"),
    ("  touches: 7=>  touches: -7", 9, "cadence.touches", "must be at least 1 (got -7)"),
    ("  touches: 7=>  touches: 7.5", 9, "cadence.touches", "expected a whole number (got 7.5)"),
    ("  touches: 7=>  touches: seven", 9, "cadence.touches", "expected a whole number (got 'seven')"),
    ("  touches: 7=>  touches: yes", 9, "cadence.touches", "expected a whole number (got true)"),
    ("  within: 10bd=>  within: 10d", 10, "cadence.within",
     "expected a number of business days like 10bd, more than zero (got '10d')"),
    ("  within: 10bd=>  within: -10bd", 10, "cadence.within", "expected a number of business days like 10bd"),
    ("  within: 10bd=>  within: 0bd", 10, "cadence.within", "more than zero (got '0bd')"),
    ("  within: 10bd=>  witin: 10bd", 10, "cadence.witin", "unknown key; did you mean `within`?"),
    ("cadence:\n  touches: 7\n  within: 10bd\n=>cadence: 7\n", 8, "cadence",
     "expected keys with values (key: value lines)"),
    ("{at: 150%, do: reassign}=>{at: 150%, do: fire_rep}", 14, "escalation[2].do",
     "expected 'remind_sdr', 'notify_managers' or 'reassign' (got 'fire_rep')"),
    ("{at: 100%, do: notify_managers}=>{at: 50%, do: remind_sdr}", 13, "escalation[1].at",
     "escalation[0] already does remind_sdr at this moment (when the accept window is 1 hour)"),
    ("{at: 150%, do: reassign}=>{at: 30m, do: remind_sdr}", 14, "escalation[2].at",
     "escalation[0] already does remind_sdr at this moment (when the accept window is 1 hour)"),
    # 50% of the fast lane's 5m is 2m30s: twins for high-intent leads only.
    ("{at: 150%, do: reassign}=>{at: 150s, do: remind_sdr}", 14, "escalation[2].at",
     "escalation[0] already does remind_sdr at this moment (when the accept window is 5 minutes)"),
    ("  per_day: 3=>  per_day: 0", 16, "breaches.per_day", "must be at least 1 (got 0)"),
    ("  per_day: 3=>  per_day: often", 16, "breaches.per_day", "expected a whole number (got 'often')"),
    ("  then: mark_away=>  then: fire_rep", 17, "breaches.then", "expected 'mark_away' (got 'fire_rep')"),
    ("  then: mark_away=>  after: mark_away", 17, "breaches.after", "unknown key"),
]


@pytest.mark.parametrize("change, line, key, words", ERRORS)
def test_each_bad_value_is_one_problem_naming_file_line_and_key(tmp_path, change, line, key, words):
    assert_one_problem(write_sla(tmp_path, changed(change)), line, key, words)


def test_a_step_repeated_three_times_is_reported_at_each_repeat(tmp_path):
    text = changed("{at: 100%, do: notify_managers}=>{at: 50%, do: remind_sdr}",
                   "{at: 150%, do: reassign}=>{at: 30m, do: remind_sdr}")
    problems = check_config(write_sla(tmp_path, text))
    assert [(p.line, p.key, p.message.split(" at ")[0]) for p in problems] == [
        (13, "escalation[1].at", "escalation[0] already does remind_sdr"),
        (14, "escalation[2].at", "escalation[0] already does remind_sdr")]


def test_the_shipped_sla_states_the_seeds_effort_and_fast_lane():
    sla = load_config(SHIPPED).sla
    assert sla.fast_lane_accept_within == timedelta(minutes=5)
    assert sla.cadence == Cadence(touches=7, within=BusinessDays(10))
    assert sla.breaches == BreachLimit(per_day=3, then="mark_away")
