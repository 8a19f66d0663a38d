"""sla.yaml's `closed` and `calendars` (per team and per rep): loaded as written, and each mistake one problem naming
the file, its line and key. Teams and reps are checked against routing.yaml (the shipped one: territories DACH and
Enterprise; reps 101, 102 and 103, who works 08:00-17:00 in Europe/Berlin)."""
from datetime import date, time
from zoneinfo import ZoneInfo

import pytest

from bot.rules import HolidayCalendar, check_config, load_config
from bot.rules.sla import CalendarRules
from tests.config_text import with_changes
from tests.test_rules_sla import assert_one_problem, write_sla

SLA = """\
timezone: America/New_York
business_hours:
  mon-fri: "09:00-17:00"
holidays: US
closed: [2026-12-24]
accept_within: 1h
first_touch_within: 1h
calendars:
  teams:
    DACH:
      timezone: Europe/Berlin
      business_hours: {mon-fri: "08:00-17:00"}
      holidays: DE
      closed: [2026-12-31]
  reps:
    "103": {holidays: DE-BY}
    "102": {timezone: America/Los_Angeles}
"""


def changed(*changes: str) -> str:
    return with_changes(SLA, *changes)


def test_calendars_and_closed_dates_load_as_written(tmp_path):
    sla = load_config(write_sla(tmp_path, SLA)).sla
    assert sla.closed == frozenset({date(2026, 12, 24)})
    week = {day: (time(8), time(17)) for day in range(5)}
    assert sla.calendars.teams == {"DACH": CalendarRules(ZoneInfo("Europe/Berlin"), week, HolidayCalendar("DE"),
                                                         frozenset({date(2026, 12, 31)}))}
    assert sla.calendars.reps == {"103": CalendarRules(holidays=HolidayCalendar("DE", "BY")),
                                  "102": CalendarRules(timezone=ZoneInfo("America/Los_Angeles"))}


def test_a_calendar_without_its_section_changes_nothing(tmp_path):
    text = SLA[:SLA.index("calendars:")]
    sla = load_config(write_sla(tmp_path, text)).sla
    assert (sla.calendars.teams, sla.calendars.reps) == ({}, {})
    assert check_config(write_sla(tmp_path, text)) == []


@pytest.mark.parametrize("change, expected", [
    ('"103": {holidays: DE-BY}=>103: {holidays: DE-BY}', "103"),        # an unquoted owner id is still the rep
    ("      holidays: DE=>      holidays: null", None),                  # null: the company's
    ("      holidays: DE=>      holidays: []", HolidayCalendar()),       # []: none
])
def test_owner_ids_and_empty_holidays_read_as_meant(tmp_path, change, expected):
    sla = load_config(write_sla(tmp_path, changed(change))).sla
    if isinstance(expected, str):
        assert expected in sla.calendars.reps
    else:
        assert sla.calendars.teams["DACH"].holidays == expected


ERRORS = [
    # (change, line, key, words)
    ("timezone: Europe/Berlin=>timezone: Europe/Bonn", 11, "calendars.teams.DACH.timezone",
     "unknown time zone 'Europe/Bonn'"),
    ("      holidays: DE=>      holidays: XX", 13, "calendars.teams.DACH.holidays",
     "'XX' is not a country the holidays package knows"),
    ('"103": {holidays: DE-BY}=>"103": {holidays: DE-ZZ}', 16, "calendars.reps.103.holidays", "DE has no region 'ZZ'"),
    # A date that does not exist stops PyYAML itself: still named at its line and key.
    ("closed: [2026-12-31]=>closed: [2026-12-32]", 14, "calendars.teams.DACH.closed[0]",
     "'2026-12-32' is not a date like 2025-12-26 (day is out of range for month)"),
    ("closed: [2026-12-24]=>closed: [2026-12-24, 2026-02-30]", 5, "closed[1]", "'2026-02-30' is not a date"),
    ('closed: [2026-12-31]=>closed: ["2026-12-32"]', 14, "calendars.teams.DACH.closed",
     "'2026-12-32' is not a date like 2025-12-26"),
    ("closed: [2026-12-31]=>closed: 2026-12-31", 14, "calendars.teams.DACH.closed",
     "expected a list of dates like [2026-12-24, 2026-12-31]"),
    ("closed: [2026-12-24]=>closed: [Christmas Eve]", 5, "closed", "'Christmas Eve' is not a date"),
    ('{mon-fri: "08:00-17:00"}=>{mon-fri: "08:00-17:00", fri: "08:00-12:00"}', 12,
     "calendars.teams.DACH.business_hours", "fri overlaps mon-fri: Friday is given hours twice"),
    ('{mon-fri: "08:00-17:00"}=>{mon-fri: "17:00-08:00"}', 12, "calendars.teams.DACH.business_hours",
     "start before end"),
    ("      holidays: DE=>      holiday: DE", 13, "calendars.teams.DACH.holiday", "did you mean `holidays`?"),
    ("  reps:=>  people:", 15, "calendars.people", "unknown key"),
]


@pytest.mark.parametrize("change, line, key, words", ERRORS)
def test_each_bad_calendar_value_is_one_error_naming_file_line_and_key(tmp_path, change, line, key, words):
    assert_one_problem(write_sla(tmp_path, changed(change)), line, key, words)


WARNINGS = [
    # (change, line, key, words): references to routing.yaml it does not have; the config still loads
    ("    DACH:=>    Nordics:", 10, "calendars.teams.Nordics",
     "routing.yaml has no territory named 'Nordics' (it has: DACH, Enterprise)"),
    ('"102": {timezone=>"104": {timezone', 17, "calendars.reps.104", "owner 104 is not in routing.yaml's sdr_pool"),
    ('"102": {timezone=>"bob": {timezone', 17, "calendars.reps.bob", "reps are named by their HubSpot owner id"),
    ('"103": {holidays: DE-BY}=>"103": {holidays: DE-BY, timezone: Europe/Paris}', 16, "calendars.reps.103.timezone",
     "routing.yaml already gives rep 103 their timezone"),
]


@pytest.mark.parametrize("change, line, key, words", WARNINGS)
def test_a_team_or_rep_routing_does_not_know_is_a_warning_at_its_line(tmp_path, change, line, key, words):
    directory = write_sla(tmp_path, changed(change))
    assert_one_problem(directory, line, key, words, "warning")
    assert load_config(directory).warnings == tuple(check_config(directory))
