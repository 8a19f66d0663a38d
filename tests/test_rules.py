"""bot.rules: durations, the SLA and routing models, the scoring language's checks, the shipped config, the fingerprint."""
import re
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.rules import (BusinessDays, Config, ConfigError, EscalationStep, HolidayCalendar, Problem, ScoringRules,
                       check_config, config_fingerprint, load_config, parse_duration)
from bot.rules.durations import window_words
from bot.rules.scoring import scoring_errors
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


@pytest.mark.parametrize("text", ["", "5 mins", "m5", "1y", "1.5bd", "-5m", "5m-", True, None, [5], "1h 30",
                                  float("inf"), float("nan"), 1e20, "99999999999999w"])
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


# --- scoring.yaml's language: decay, caps, groups, grades, the MQL rule, hysteresis -----------------------

LANGUAGE = """\
mql_threshold: 100
active_within: 30d
fit:
  - label: Decision-maker title
    points: 60
    group: title
    when: {property: jobtitle, matches: '(?i)\\bvp\\b'}
engagement:
  - label: Requested a demo
    points: 80
    group: web
    when: {activity: form_submission, form: "*demo*", within: 30d}
"""
GRADES = "grades: {fit: {A: 50, B: 20}, engagement: {1: 45, 2: 20}}\n"

LANGUAGE_PROBLEMS = [
    # (change: "+text" appends at line 13, "old=>new" replaces; line, key, severity, words)
    ("+decay: {half_life: soon}\n", 13, "decay.half_life", "error", "expected a duration like 30s, 5m, 1h, 2d"),
    ("+decay: {linear: 10, per: 7d}\n", 13, "decay.linear", "error",
     "expected the share of the points lost per period, like 10% (got 10)"),
    ("+decay: {linear: 150%, per: 7d}\n", 13, "decay.linear", "error", "must be more than 0% and at most 100%"),
    ("+decay: {linear: 10%}\n", 13, "decay", "error", "linear and per go together"),
    ("+decay: {per: 7d}\n", 13, "decay", "error", "linear and per go together"),
    ("+decay: {half_life: 14d, linear: 10%, per: 7d}\n", 13, "decay", "error", "half_life, or linear with per, not both"),
    ("+decay: {}\n", 13, "decay", "error", "say how points fade: {half_life: 14d}, {linear: 10%, per: 7d} or none"),
    ("+decay: 14d\n", 13, "decay", "error", "expected {half_life: 14d}, {linear: 10%, per: 7d} or none (got '14d')"),
    ("+decay: {half_lfe: 14d}\n", 13, "decay.half_lfe", "error", "unknown key; did you mean `half_life`?"),
    ("    group: web\n=>    group: web\n    decay: {half_life: 0s}\n", 12, "engagement[0].decay.half_life", "error",
     "must be longer than zero"),
    ("    group: title\n=>    group: title\n    decay: {half_life: 14d}\n", 7, "fit[0].decay", "error",
     "fit points never decay"),
    ("+caps: {web: 0}\n", 13, "caps.web", "error", "must be more than 0 (got 0)"),
    ("+caps: {webb: 20}\n", 13, "caps.webb", "error", "no rule has `group: webb`; did you mean `web`?"),
    ("+caps: {social: 20}\n", 13, "caps.social", "error", "no rule has `group: social` (caps name a rule's `group:`"),
    ("+fit_cap: -5\n", 13, "fit_cap", "error", "must be more than 0 (got -5)"),
    ("+fit_cap: .inf\n", 13, "fit_cap", "error", "expected a number (not infinity or NaN)"),
    ("points: 80=>points: .nan", 10, "engagement[0].points", "error", "expected a number (not infinity or NaN)"),
    ("+fit_cap: 50\ncaps: {fit: 40}\n", 13, "fit_cap", "error",
     "the fit cap is written twice (as fit_cap and caps.fit); keep one"),
    ("group: title=>group: fit", 6, "fit[0].group", "error", "`fit` names an axis (its cap is fit_cap)"),
    ("group: web=>group: title", 11, "engagement[0].group", "error", "the group `title` already holds fit rules"),
    ("group: web=>group: ' '", 11, "engagement[0].group", "error", "expected a group name, like web (got ' ')"),
    ("+grades: {fit: {A: 20, B: 50}, engagement: {1: 45, 2: 20}}\n", 13, "grades.fit", "error",
     "A needs more points than B (got A: 20, B: 50)"),
    ("+grades: {fit: {A: 50, B: 20}, engagement: {1: 45, 2: 45}}\n", 13, "grades.engagement", "error",
     "1 needs more points than 2 (got 1: 45, 2: 45)"),
    ("+grades: {fit: {A: 50, B: 20}}\n", 13, "grades.engagement", "error", "this key is required"),
    ("+grades: {fit: {A: 50, B: 20, C: 0}, engagement: {1: 45, 2: 20}}\n", 13, "grades.fit.C", "error",
     "unknown key"),
    ("+mql_grades: [A1, D4]\n", 13, "mql_grades[1]", "error",
     "expected a grade cell like A1 or B2: a fit grade A, B or C, then an engagement grade 1, 2 or 3 (got 'D4')"),
    ("+mql_grades: []\n", 13, "mql_grades", "error", "needs at least 1 item"),
    ("+mql_rule: sometimes\n", 13, "mql_rule", "error", "expected 'threshold', 'grades', 'both' or 'either'"),
    ("+" + GRADES + "mql_grades: [A1]\n", 14, "mql_grades", "error",
     "say how the grade cells combine with mql_threshold: add mql_rule: grades, both or either"),
    ("+mql_rule: grades\n", 13, "mql_rule", "error", "`grades` needs mql_grades, the grade cells that make an MQL"),
    ("+mql_grades: [A1]\nmql_rule: either\n", 13, "mql_grades", "error", "grade cells need `grades:`"),
    ("+mql_exit_threshold: 0\n", 13, "mql_exit_threshold", "error", "must be more than 0"),
    ("+mql_exit_threshold: lots\n", 13, "mql_exit_threshold", "error", "expected a number (got 'lots')"),
    # warnings: the file loads, but someone should look
    ("+mql_exit_threshold: 120\n", 13, "mql_exit_threshold", "warning",
     "120 is above mql_threshold (100): a lead scoring between the two becomes an MQL and drops out"),
    ("+" + GRADES + "mql_grades: [A1]\nmql_rule: grades\nmql_exit_threshold: 80\n", 16, "mql_exit_threshold",
     "warning", "has no effect with mql_rule: grades"),
    ("+" + GRADES + "mql_grades: [A1]\nmql_rule: threshold\n", 14, "mql_grades", "warning",
     "not used: mql_rule is threshold"),
    ("+grades: {fit: {A: 100, B: 20}, engagement: {1: 45, 2: 20}}\n", 13, "grades.fit.A", "warning",
     "no contact can reach 100 fit points (fit rules give at most 60), so nobody is graded A"),
    ("+grades:\n  fit: {A: 50, B: 20}\n  engagement: {1: 90, 2: 20}\n", 15, "grades.engagement.1", "warning",
     "no contact can reach 90 engagement points (engagement rules give at most 80), so nobody is graded 1"),
    ("+caps: {web: 500}\n", 13, "caps.web", "warning", "the cap never applies: its rules give at most 80 points"),
    ("+caps: {engagement: 80}\n", 13, "caps.engagement", "warning", "the cap never applies"),
    ("+engagement_cap: 200\n", 13, "engagement_cap", "warning", "the cap never applies"),
    ("+engagement_cap: 30\n", 1, "mql_threshold", "warning",
     "nobody can reach 100 points: all rules together give at most 90"),
    ("+caps: {title: 10}\n", 1, "mql_threshold", "warning", "all rules together give at most 90"),
    ("+  - label: Known phone\n    points: 5\n    decay: {half_life: 7d}\n    when: {property: phone, exists: true}\n",
     15, "engagement[1].decay", "warning", "has no effect: the rule looks at no activity"),
]


def _language_config(directory: Path, change: str) -> Path:
    _copy_shipped(directory)
    old, _, new = change.partition("=>")
    text = LANGUAGE + change[1:] if change.startswith("+") else LANGUAGE.replace(old, new)
    assert text != LANGUAGE
    (directory / "scoring.yaml").write_text(text)
    return directory


@pytest.mark.parametrize("change, line, key, severity, words", LANGUAGE_PROBLEMS)
def test_each_scoring_key_is_checked_with_file_line_and_key(tmp_path, change, line, key, severity, words):
    directory = _language_config(tmp_path, change)
    problems = check_config(directory)
    assert [(p.file, p.line, p.key, p.severity) for p in problems] == [
        (str(directory / "scoring.yaml"), line, key, severity)], "\n".join(map(str, problems))
    assert words in problems[0].message
    if severity == "error":
        with pytest.raises(ConfigError):
            load_config(directory)
    else:
        assert load_config(directory).warnings == tuple(problems)


@pytest.mark.parametrize("change", [
    "+decay: {half_life: 14d}\n", "+decay: {linear: 10%, per: 7d}\n", "+decay: none\n", "+decay: off\n",
    "    group: web\n=>    group: web\n    decay: none\n", "    group: web\n=>    group: web\n    decay: {linear: 5%, per: 1d}\n",
    "+caps: {web: 70, title: 50, fit: 55}\nengagement_cap: 75\n", "+" + GRADES,
    "+" + GRADES + "mql_grades: [a1, A2, B1]\nmql_rule: either\nmql_exit_threshold: 90\n",
    "+" + GRADES + "mql_grades: [A1]\nmql_rule: both\n", "+mql_exit_threshold: 100\n",
])
def test_the_language_written_well_is_clean(tmp_path, change):
    assert check_config(_language_config(tmp_path, change)) == []


def test_the_language_is_read_into_rules(tmp_path):
    change = "+" + GRADES + "mql_grades: [a1, B1]\nmql_rule: either\nmql_exit_threshold: 80\n" \
             "decay: {linear: 10%, per: 7d}\ncaps: {web: 50, fit: 45}\n"
    scoring = load_config(_language_config(tmp_path, change)).scoring
    assert (scoring.rule, scoring.mql_grades, scoring.threshold_for(False), scoring.threshold_for(True)) == (
        "either", ("A1", "B1"), 100, 80)
    assert (scoring.decay.linear, scoring.decay.per) == (0.1, timedelta(days=7))
    assert (scoring.cap_for("fit"), scoring.cap_for("engagement"), scoring.group_caps) == (45, None, {"web": 50})
    assert scoring.max_points() == 95 and scoring.grades.grade(50, 44) == "A2"


def test_the_shipped_scoring_decays_and_grades_but_mqls_by_the_seeds():
    scoring = load_config(SHIPPED).scoring
    assert scoring.decay.half_life == timedelta(days=30) and scoring.grades is not None
    assert (scoring.rule, scoring.mql_grades, scoring.threshold_for(True)) == ("threshold", None, 100)


def _yaml_examples(markdown: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", markdown.read_text(), flags=re.S)


@pytest.mark.parametrize("example", _yaml_examples(SHIPPED.parent / "docs" / "scoring.md"))
def test_every_example_in_the_scoring_docs_is_valid(example):
    data = yaml.safe_load(example)
    scoring = ScoringRules.model_validate({"mql_threshold": 100} | data)
    assert scoring_errors(scoring) == []


ODD = ["null", "[]", "{}", "[1, [2]]", "{a: {b: c}}", "true", "-1", "0", "'" + "a" * 500 + "'", "'\\0'", "1.0e+400",
       ".nan", "-.inf"]
NEW_KEYS = ["+decay: {}\n", "+decay: {half_life: {}}\n", "+decay: {linear: {}, per: 7d}\n", "+caps: {}\n",
            "+caps: {web: {}}\n", "+grades: {}\n", "+grades: {fit: {}, engagement: {1: 45, 2: 20}}\n",
            "+grades: {fit: {A: 50, B: {}}, engagement: {1: 45, 2: 20}}\n", "+mql_grades: {}\n",
            "+mql_grades: [{}]\n", "+mql_rule: {}\n", "+mql_exit_threshold: {}\n", "+fit_cap: {}\n",
            "group: web=>group: {}", "    group: web\n=>    group: web\n    decay: {}\n"]


@pytest.mark.parametrize("place", NEW_KEYS)
@pytest.mark.parametrize("value", ODD)
def test_odd_values_in_the_new_keys_are_reported_never_raised(tmp_path, place, value):
    directory = _language_config(tmp_path, place.replace("{}", value, 1))
    problems = check_config(directory)
    assert all(p.file.endswith("scoring.yaml") and p.key is not None for p in problems)
    if any(p.severity == "error" for p in problems):
        with pytest.raises(ConfigError):
            load_config(directory)
    else:
        load_config(directory)
