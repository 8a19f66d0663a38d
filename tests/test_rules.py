"""bot.rules: durations, the SLA and routing models, loading the shipped config, the fingerprint."""
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.rules import (BusinessDays, Config, ConfigError, EscalationStep, HolidayCalendar, Problem, check_config,
                       config_fingerprint, load_config, parse_duration)
from bot.rules.durations import window_words
from bot.rules.sla import SlaDoc

SHIPPED = Path(__file__).resolve().parent.parent / "config"
WEEKDAYS = {day: (time(9), time(17)) for day in range(5)}


@pytest.mark.parametrize("text, expected", [
    ("30s", timedelta(seconds=30)),
    ("5m", timedelta(minutes=5)),
    ("1h", timedelta(hours=1)),
    ("2d", timedelta(days=2)),
    ("1w", timedelta(weeks=1)),
    ("1h30m", timedelta(minutes=90)),
    ("1.5h", timedelta(minutes=90)),
    (" 10 m ", timedelta(minutes=10)),
    ("5M", timedelta(minutes=5)),
    (30, timedelta(seconds=30)),
    (2.5, timedelta(seconds=2.5)),
    ("45", timedelta(seconds=45)),
    ("1bd", BusinessDays(1)),
    ("3bd", BusinessDays(3)),
])
def test_parse_duration_reads_what_people_write(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5 mins", "m5", "1y", "1.5bd", "-5m", "5m-", True, None, [5], "1h 30"])
def test_parse_duration_refuses_anything_else_with_the_hint(text):
    with pytest.raises(ValueError, match="expected a duration like 30s, 5m, 1h, 2d"):
        parse_duration(text)


@pytest.mark.parametrize("span, words", [
    (timedelta(days=30), "30 days"), (timedelta(days=1), "1 day"), (timedelta(hours=36), "36 hours"),
    (timedelta(minutes=90), "90 minutes"), (timedelta(seconds=45), "45 seconds"),
])
def test_window_words(span, words):
    assert window_words(span) == words


def test_business_days_read_as_words():
    assert str(BusinessDays(1)) == "1 business day" and str(BusinessDays(2)) == "2 business days"


@pytest.mark.parametrize("step, accept_within, due", [
    (EscalationStep("remind_sdr", at_share=1.0), timedelta(minutes=5), timedelta(minutes=5)),
    (EscalationStep("notify_managers", at_share=2.0), timedelta(minutes=5), timedelta(minutes=10)),
    (EscalationStep("remind_sdr", at_share=0.5), timedelta(minutes=5), timedelta(seconds=150)),
    (EscalationStep("notify_managers", at_offset=timedelta(minutes=7)), timedelta(minutes=5), timedelta(minutes=7)),
])
def test_escalation_step_due_after(step, accept_within, due):
    assert step.due_after(accept_within) == due


def test_problem_reads_like_a_compiler_line():
    assert str(Problem("config/sla.yaml", 12, "accept_within", "expected a duration like 30s, 5m, 1h, 2d")) == \
        "config/sla.yaml:12: accept_within: expected a duration like 30s, 5m, 1h, 2d"
    assert str(Problem("config/sla.yaml", None, "", "file not found")) == "config/sla.yaml: file not found"
    assert str(Problem("c/s.yaml", 3, "fit[0].when", "never fires", "warning")) == \
        "c/s.yaml:3: warning: fit[0].when: never fires"


def test_config_error_is_one_line_per_problem():
    error = ConfigError([Problem("a.yaml", 1, "x", "bad"), Problem("b.yaml", 2, "y", "worse")])
    assert str(error) == "a.yaml:1: x: bad\nb.yaml:2: y: worse"
    assert len(error.problems) == 2


def test_shipped_config_loads_without_problems():
    assert check_config(SHIPPED) == []
    config = load_config(SHIPPED)
    assert isinstance(config, Config) and config.warnings == ()


def test_shipped_sla_encodes_the_seeds():
    sla = load_config(SHIPPED).sla
    assert sla.timezone == ZoneInfo("America/New_York")
    assert sla.business_hours == WEEKDAYS
    assert sla.accept_within == timedelta(minutes=5) and sla.first_touch_within == timedelta(hours=1)
    assert [(s.action, s.due_after(sla.accept_within)) for s in sla.escalation] == [
        ("remind_sdr", timedelta(minutes=5)), ("notify_managers", timedelta(minutes=10))]
    assert date(2025, 7, 4) in sla.holidays and date(2025, 7, 3) not in sla.holidays


def test_shipped_scoring_encodes_the_seeds():
    scoring = load_config(SHIPPED).scoring
    assert scoring.mql_threshold == 100 and scoring.active_within == timedelta(days=30)
    assert [gate.label for gate in scoring.gates] == [
        "Decision-maker title (VP, Director, Head, C-level)", "More than 50 employees"]
    assert [rule.label for rule in scoring.engagement if rule.high_intent] == [
        "Requested a demo", "Asked to talk to sales", "Booked a meeting"]


def test_shipped_routing():
    routing = load_config(SHIPPED).routing
    assert routing.sdr_pool == ("101", "102", "103") and routing.managers == ("U0MANAGER1",)
    assert routing.slack_users == {"101": "U0AAAA1"}
    assert (routing.leads_channel, routing.manager_channel, routing.fallback_channel) == (
        "#leads", "#sales-managers", "#leads-unassigned")


SLA_BASE = {"timezone": "Europe/Paris", "business_hours": "always", "accept_within": "5m",
            "first_touch_within": "1h"}


@pytest.mark.parametrize("hours, expected", [
    ("always", "always"),
    ("ALWAYS", "always"),
    ({"mon-fri": "09:00-17:00"}, WEEKDAYS),
    ({"monday-friday": "9:00-17:00"}, WEEKDAYS),
    ({"mon-thu": "09:00-17:00", "fri": "09:00-12:30"},
     {**{d: (time(9), time(17)) for d in range(4)}, 4: (time(9), time(12, 30))}),
    ({"sat": "10:00-14:00", "sun": "10:00-14:00"}, {5: (time(10), time(14)), 6: (time(10), time(14))}),
])
def test_business_hours_become_weekday_windows(hours, expected):
    assert SlaDoc.model_validate({**SLA_BASE, "business_hours": hours}).to_rules().business_hours == expected


@pytest.mark.parametrize("holidays, country, region, dates", [
    (None, None, None, set()),
    ("", None, None, set()),
    ([], None, None, set()),
    ("US", "US", None, set()),
    ("us-ca", "US", "CA", set()),
    ("DE-BY", "DE", "BY", set()),
    ([date(2025, 12, 26), "2025-12-31"], None, None, {date(2025, 12, 26), date(2025, 12, 31)}),
])
def test_holidays_forms(holidays, country, region, dates):
    calendar = SlaDoc.model_validate({**SLA_BASE, "holidays": holidays}).to_rules().holidays
    assert (calendar.country, calendar.subdivision, set(calendar.dates)) == (country, region, dates)


@pytest.mark.parametrize("calendar, day, expected", [
    (HolidayCalendar("US"), date(2025, 12, 25), True),
    (HolidayCalendar("US"), date(2025, 12, 24), False),
    (HolidayCalendar("US", "CA"), date(2025, 3, 31), True),     # César Chávez Day: California only
    (HolidayCalendar("US"), date(2025, 3, 31), False),
    (HolidayCalendar(dates=frozenset({date(2025, 12, 26)})), date(2025, 12, 26), True),
    (HolidayCalendar(), date(2025, 12, 25), False),
])
def test_holiday_calendar_membership(calendar, day, expected):
    assert (day in calendar) is expected


def test_escalation_steps_are_ordered_by_when_they_are_due():
    doc = SlaDoc.model_validate({**SLA_BASE, "escalation": [
        {"at": "200%", "do": "notify_managers"}, {"at": "3m", "do": "remind_sdr"}, {"at": "100%", "do": "remind_sdr"}]})
    assert doc.to_rules().escalation == (EscalationStep("remind_sdr", at_offset=timedelta(minutes=3)),
                                         EscalationStep("remind_sdr", at_share=1.0),
                                         EscalationStep("notify_managers", at_share=2.0))


def test_escalation_defaults_to_remind_then_managers_and_may_be_empty():
    assert [s.action for s in SlaDoc.model_validate(SLA_BASE).to_rules().escalation] == [
        "remind_sdr", "notify_managers"]
    assert SlaDoc.model_validate({**SLA_BASE, "escalation": []}).to_rules().escalation == ()


def test_first_touch_may_be_business_days_and_durations_may_be_seconds():
    sla = SlaDoc.model_validate({**SLA_BASE, "first_touch_within": "1bd", "accept_within": 30}).to_rules()
    assert sla.first_touch_within == BusinessDays(1) and sla.accept_within == timedelta(seconds=30)


def _copy_shipped(target: Path) -> Path:
    for path in SHIPPED.glob("*.yaml"):
        (target / path.name).write_text(path.read_text())
    return target


def test_fingerprint_changes_with_any_config_file(tmp_path):
    directory = _copy_shipped(tmp_path)
    before = config_fingerprint(directory)
    assert config_fingerprint(directory) == before
    (directory / "sla.yaml").write_text((directory / "sla.yaml").read_text().replace("5m", "6m"))
    after_edit = config_fingerprint(directory)
    (directory / "routing.yaml").unlink()
    assert len({before, after_edit, config_fingerprint(directory)}) == 3


def test_fingerprint_does_not_depend_on_where_the_files_are(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    assert config_fingerprint(_copy_shipped(tmp_path / "a")) == config_fingerprint(_copy_shipped(tmp_path / "b"))
