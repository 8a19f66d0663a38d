"""bot.business_time: weekends, holidays, long weekends, DST changes, other time zones, "always", spans over a week."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.business_time import (BusinessCalendar, add_business_days, add_business_time, business_time_between,
                               is_open, next_open)
from bot.rules.sla import SlaDoc

NY, BERLIN, UTC = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin"), ZoneInfo("UTC")


def calendar(zone: str, hours, holidays, **options) -> BusinessCalendar:
    """A calendar built the way the service builds it: sla.yaml's keys through SlaDoc, then from_sla."""
    doc = SlaDoc.model_validate({"timezone": zone, "business_hours": hours, "holidays": holidays,
                                 "accept_within": "5m", "first_touch_within": "1h"})
    return BusinessCalendar.from_sla(doc.to_rules(), **options)


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY)


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


H = timedelta(hours=1)
OFFICE = {"mon-fri": "09:00-17:00"}
NEW_YORK = calendar("America/New_York", OFFICE, "US")
GERMANY = calendar("Europe/Berlin", OFFICE, "DE")
ALWAYS = calendar("America/New_York", "always", None)
SATURDAY_MORNINGS = calendar("America/New_York", {**OFFICE, "sat": "10:00-14:00"}, None)
CHRISTMAS_EVE_OFF = calendar("America/New_York", OFFICE, "US", closed_dates=[date(2026, 12, 24)])
BERLIN_REP = calendar("America/New_York", OFFICE, "US", timezone=BERLIN)   # the company's calendar, a rep's zone
# Hours that a DST change cuts into: New York jumps 02:00 -> 03:00 on 2026-03-08 and repeats 01:00-02:00 on
# 2026-11-01; Berlin jumps 02:00 -> 03:00 on 2026-03-29.
NY_SUNDAY_NIGHT = BusinessCalendar(NY, {6: (time(0), time(6))})
NY_REPEATED_HOUR = BusinessCalendar(NY, {6: (time(1, 30), time(2, 30))})
BERLIN_SKIPPED_OPENING = BusinessCalendar(BERLIN, {6: (time(2, 30), time(10))})

ADD_TIME_CASES = [
    # (calendar, start, business time, expected)
    (NEW_YORK, ny("2026-03-10 10:00"), H, ny("2026-03-10 11:00")),
    (NEW_YORK, ny("2026-03-10 10:00"), timedelta(0), ny("2026-03-10 10:00")),
    (NEW_YORK, ny("2026-03-10 10:00"), 7 * H, ny("2026-03-10 17:00")),        # ends exactly at the close
    (NEW_YORK, ny("2026-03-10 10:00"), 7 * H + timedelta(minutes=1), ny("2026-03-11 09:01")),
    (NEW_YORK, ny("2026-03-10 07:00"), H, ny("2026-03-10 10:00")),            # before the opening
    (NEW_YORK, ny("2026-03-10 20:00"), H / 2, ny("2026-03-11 09:30")),        # after the close
    (NEW_YORK, ny("2026-03-07 12:00"), H, ny("2026-03-09 10:00")),            # on a Saturday
    (NEW_YORK, ny("2026-03-06 16:30"), H, ny("2026-03-09 09:30")),            # weekend of the spring DST change
    (NEW_YORK, ny("2026-10-30 16:00"), 2 * H, ny("2026-11-02 10:00")),        # weekend of the autumn DST change
    (NEW_YORK, ny("2026-11-25 16:00"), 2 * H, ny("2026-11-27 10:00")),        # Thanksgiving
    (NEW_YORK, ny("2026-09-04 16:00"), 2 * H, ny("2026-09-08 10:00")),        # Labor Day long weekend
    (NEW_YORK, ny("2026-07-02 16:30"), H, ny("2026-07-06 09:30")),            # July 4th on a Saturday: Friday off
    (NEW_YORK, ny("2026-11-16 09:00"), 70 * H, ny("2026-11-27 15:00")),       # over a week, Thanksgiving inside
    (NEW_YORK, utc("2026-03-10 14:00"), H, ny("2026-03-10 11:00")),           # a start written in UTC
    (CHRISTMAS_EVE_OFF, ny("2026-12-23 16:00"), 2 * H, ny("2026-12-28 10:00")),
    (GERMANY, berlin("2026-04-02 16:00"), 2 * H, berlin("2026-04-07 10:00")),  # Good Friday to Easter Monday
    (GERMANY, berlin("2026-03-27 16:30"), H, berlin("2026-03-30 09:30")),     # Berlin's spring DST change
    (GERMANY, berlin("2026-10-23 16:30"), H, berlin("2026-10-26 09:30")),     # Berlin's autumn DST change
    (ALWAYS, ny("2026-03-07 12:00"), 24 * H, ny("2026-03-08 13:00")),         # elapsed time: a 23-hour day
    (ALWAYS, ny("2026-10-31 12:00"), 24 * H, ny("2026-11-01 11:00")),         # and a 25-hour day
    (ALWAYS, ny("2026-11-25 16:00"), 10 * 24 * H, ny("2026-12-05 16:00")),    # no holidays given: wall clock
    (NY_SUNDAY_NIGHT, ny("2026-03-08 00:00"), 5 * H, ny("2026-03-08 06:00")),  # a night one hour short
    (NY_SUNDAY_NIGHT, ny("2026-11-01 00:00"), 6 * H, ny("2026-11-01 05:00")),  # a night one hour long
    (BERLIN_SKIPPED_OPENING, berlin("2026-03-28 23:00"), H, berlin("2026-03-29 04:00")),
]


@pytest.mark.parametrize("business, start, span, expected", ADD_TIME_CASES)
def test_add_business_time(business, start, span, expected):
    assert add_business_time(business, start, span) == expected


@pytest.mark.parametrize("ask", [
    lambda: add_business_time(NEW_YORK, ny("2026-03-10 10:00"), H),
    lambda: add_business_days(NEW_YORK, ny("2026-03-10 10:00"), 1),
    lambda: next_open(NEW_YORK, ny("2026-03-07 10:00")),
])
def test_answers_are_utc_instants(ask):
    # A New York time in the repeated hour never equals a UTC time (PEP 495): UTC answers keep `==` honest.
    assert ask().utcoffset() == timedelta(0)


def test_a_rep_in_another_zone_has_their_own_deadlines():
    # 13:30 UTC on a Friday: 09:30 in New York, 14:30 in Berlin (a week in which only the US has changed clocks).
    mql = utc("2026-03-20 13:30")
    assert add_business_time(NEW_YORK, mql, 3 * H) == ny("2026-03-20 12:30")
    assert add_business_time(BERLIN_REP, mql, 3 * H) == berlin("2026-03-23 09:30")


IS_OPEN_CASES = [
    (NEW_YORK, ny("2026-03-10 09:00"), True),
    (NEW_YORK, ny("2026-03-10 08:59:59"), False),
    (NEW_YORK, ny("2026-03-10 16:59:59"), True),
    (NEW_YORK, ny("2026-03-10 17:00"), False),                # closed from the closing time on
    (NEW_YORK, ny("2026-03-07 12:00"), False),                # Saturday
    (NEW_YORK, ny("2026-11-26 12:00"), False),                # Thanksgiving
    (NEW_YORK, ny("2026-11-27 12:00"), True),                 # the Friday after is a working day
    (NEW_YORK, utc("2026-03-10 13:30"), True),                # 09:30 EDT
    (NEW_YORK, utc("2026-03-06 13:30"), False),               # 08:30 EST, a week earlier
    (CHRISTMAS_EVE_OFF, ny("2026-12-24 12:00"), False),
    (NEW_YORK, ny("2026-12-24 12:00"), True),
    (ALWAYS, ny("2026-03-08 03:00"), True),
    (BERLIN_REP, utc("2026-03-20 17:00"), False),             # 18:00 in Berlin
    (NEW_YORK, utc("2026-03-20 17:00"), True),                # 13:00 in New York
    (NY_REPEATED_HOUR, ny("2026-11-01 01:15").replace(fold=1), True),   # the second 01:15, EST
    (NY_REPEATED_HOUR, ny("2026-11-01 01:15"), False),                  # the first 01:15, EDT
]


@pytest.mark.parametrize("business, moment, expected", IS_OPEN_CASES)
def test_is_open(business, moment, expected):
    assert is_open(business, moment) is expected


NEXT_OPEN_CASES = [
    (NEW_YORK, ny("2026-03-10 10:00"), ny("2026-03-10 10:00")),         # open: the moment itself
    (NEW_YORK, ny("2026-03-10 17:00"), ny("2026-03-11 09:00")),
    (NEW_YORK, ny("2026-03-06 17:00"), ny("2026-03-09 09:00")),         # over the spring DST change
    (NEW_YORK, ny("2026-11-25 17:30"), ny("2026-11-27 09:00")),
    (GERMANY, utc("2026-04-02 20:00"), berlin("2026-04-07 09:00")),
    (ALWAYS, ny("2026-11-26 03:00"), ny("2026-11-26 03:00")),
    (BERLIN_SKIPPED_OPENING, berlin("2026-03-28 23:00"), berlin("2026-03-29 03:00")),   # 02:30 never happens
    (NY_REPEATED_HOUR, ny("2026-11-01 00:00"), utc("2026-11-01 05:30")),               # the first 01:30
]


@pytest.mark.parametrize("business, moment, expected", NEXT_OPEN_CASES)
def test_next_open(business, moment, expected):
    assert next_open(business, moment) == expected


BETWEEN_CASES = [
    (NEW_YORK, ny("2026-03-10 10:00"), ny("2026-03-10 10:00"), timedelta(0)),
    (NEW_YORK, ny("2026-03-06 16:00"), ny("2026-03-09 10:00"), 2 * H),
    (NEW_YORK, ny("2026-03-09 10:00"), ny("2026-03-06 16:00"), -2 * H),   # backwards: negative
    (NEW_YORK, ny("2026-11-25 16:00"), ny("2026-11-27 10:00"), 2 * H),
    (NEW_YORK, ny("2026-03-07 08:00"), ny("2026-03-08 20:00"), timedelta(0)),
    (NEW_YORK, ny("2026-11-23 00:00"), ny("2026-11-30 00:00"), 32 * H),    # Thanksgiving week
    (NEW_YORK, ny("2026-03-10 12:00"), utc("2026-03-10 17:00"), H),        # end given in UTC (13:00 EDT)
    (ALWAYS, ny("2026-03-07 12:00"), ny("2026-03-08 12:00"), 23 * H),
    (ALWAYS, ny("2026-10-31 12:00"), ny("2026-11-01 12:00"), 25 * H),
    (NY_SUNDAY_NIGHT, ny("2026-03-07 12:00"), ny("2026-03-09 12:00"), 5 * H),
    (NY_SUNDAY_NIGHT, ny("2026-10-31 12:00"), ny("2026-11-02 12:00"), 7 * H),
    (NY_REPEATED_HOUR, ny("2026-10-31 12:00"), ny("2026-11-02 12:00"), 2 * H),
    (BERLIN_SKIPPED_OPENING, berlin("2026-03-28 12:00"), berlin("2026-03-30 12:00"), 7 * H),
    (GERMANY, berlin("2026-04-02 16:00"), berlin("2026-04-07 10:00"), 2 * H),
]


@pytest.mark.parametrize("business, start, end, expected", BETWEEN_CASES)
def test_business_time_between(business, start, end, expected):
    assert business_time_between(business, start, end) == expected


ROUND_TRIP_CALENDARS = [NEW_YORK, GERMANY, ALWAYS, SATURDAY_MORNINGS, BERLIN_REP, NY_SUNDAY_NIGHT]
ROUND_TRIP_STARTS = [ny("2026-03-06 16:30"), ny("2026-10-31 23:00"), ny("2026-11-25 08:00"), utc("2026-03-28 22:00")]
ROUND_TRIP_SPANS = [timedelta(minutes=1), 8 * H, 41 * H + timedelta(seconds=7), 200 * H]


@pytest.mark.parametrize("business", ROUND_TRIP_CALENDARS)
@pytest.mark.parametrize("start", ROUND_TRIP_STARTS)
@pytest.mark.parametrize("span", ROUND_TRIP_SPANS)
def test_business_time_added_is_business_time_between(business, start, span):
    end = add_business_time(business, start, span)
    assert business_time_between(business, start, end) == span
    assert is_open(business, end - timedelta(seconds=1))   # the deadline ends on open time, not after a closed gap


@pytest.mark.parametrize("business", ROUND_TRIP_CALENDARS)
@pytest.mark.parametrize("start", ROUND_TRIP_STARTS)
def test_adding_the_time_between_reaches_the_end(business, start):
    end = start + timedelta(days=9, hours=5, minutes=17)
    reached = add_business_time(business, start, business_time_between(business, start, end))
    assert reached <= end
    assert business_time_between(business, reached, end) == timedelta(0)


BUSINESS_DAY_CASES = [
    (NEW_YORK, ny("2026-03-10 10:00"), 1, ny("2026-03-11 10:00")),
    (NEW_YORK, ny("2026-03-10 10:00"), 0, ny("2026-03-10 10:00")),
    (NEW_YORK, ny("2026-03-07 12:00"), 0, ny("2026-03-09 09:00")),     # none: the next opening
    (NEW_YORK, ny("2026-03-06 10:00"), 1, ny("2026-03-09 10:00")),     # over the spring DST change
    (NEW_YORK, ny("2026-10-30 10:00"), 1, ny("2026-11-02 10:00")),     # over the autumn DST change
    (NEW_YORK, ny("2026-11-25 10:00"), 1, ny("2026-11-27 10:00")),     # Thanksgiving
    (NEW_YORK, ny("2026-11-25 10:00"), 10, ny("2026-12-10 10:00")),    # the seeds' 10-day cadence
    (NEW_YORK, ny("2026-03-06 20:00"), 1, ny("2026-03-09 17:00")),     # after the close: the next day's close
    (NEW_YORK, ny("2026-03-07 10:00"), 1, ny("2026-03-09 17:00")),     # Saturday: all of Monday
    (NEW_YORK, ny("2026-03-10 07:00"), 1, ny("2026-03-10 17:00")),     # before the opening: all of that day
    (NEW_YORK, ny("2026-03-07 10:00"), 2, ny("2026-03-10 17:00")),
    (SATURDAY_MORNINGS, ny("2026-03-06 16:00"), 1, ny("2026-03-07 14:00")),   # past Saturday's close
    (SATURDAY_MORNINGS, ny("2026-03-06 09:30"), 1, ny("2026-03-07 10:00")),   # before Saturday's opening
    (GERMANY, berlin("2026-04-02 11:00"), 1, berlin("2026-04-07 11:00")),
    (ALWAYS, ny("2026-03-07 12:00"), 1, ny("2026-03-08 12:00")),              # same wall time, 23 hours later
    (ALWAYS, ny("2026-11-01 01:30"), 1, utc("2026-11-02 06:30")),             # from the first 01:30 of a long day
    (BERLIN_REP, utc("2026-03-20 13:30"), 1, berlin("2026-03-23 14:30")),
]


@pytest.mark.parametrize("business, start, days, expected", BUSINESS_DAY_CASES)
def test_add_business_days(business, start, days, expected):
    assert add_business_days(business, start, days) == expected


@pytest.mark.parametrize("start", [ny("2026-03-06 10:00"), ny("2026-03-06 20:00"), ny("2026-03-07 10:00"),
                                   ny("2026-11-20 16:59"), ny("2026-11-25 08:00")])
@pytest.mark.parametrize("days", [1, 3, 10])
def test_business_days_in_office_hours_are_eight_hours_each(start, days):
    end = add_business_days(NEW_YORK, start, days)
    assert business_time_between(NEW_YORK, start, end) == days * 8 * H


def test_a_long_closure_under_a_year_is_walked_through():
    reopening = BusinessCalendar(NY, {0: (time(9), time(17))}, lambda day: day < date(2027, 1, 4))
    assert next_open(reopening, ny("2026-03-10 12:00")) == ny("2027-01-04 09:00")


NEVER_OPEN = BusinessCalendar(NY, {0: (time(9), time(17))}, lambda day: True)


@pytest.mark.parametrize("ask", [
    lambda: next_open(NEVER_OPEN, ny("2026-03-10 12:00")),
    lambda: add_business_time(NEVER_OPEN, ny("2026-03-10 12:00"), H),
    lambda: add_business_days(NEVER_OPEN, ny("2026-03-10 12:00"), 1),
    lambda: business_time_between(NEVER_OPEN, ny("2026-03-10 12:00"), ny("2028-03-10 12:00")),
])
def test_a_calendar_that_never_opens_is_an_error_not_an_endless_walk(ask):
    with pytest.raises(ValueError, match="no open hours on any day from 2026-03-10 to 2027-03-10"):
        ask()


def test_a_calendar_that_never_opens_is_simply_closed():
    assert is_open(NEVER_OPEN, ny("2026-03-09 12:00")) is False


@pytest.mark.parametrize("hours, message", [
    ({}, "open on at least one weekday"),
    ("sometimes", "must be 'always' or open"),
    ({0: (time(17), time(9))}, r"weekday\(s\) \[0\] must open before they close"),
    ({4: (time(9), time(9))}, r"weekday\(s\) \[4\]"),
    ({7: (time(9), time(17))}, r"weekday\(s\) \[7\]"),
])
def test_hours_that_never_open_are_refused(hours, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(NY, hours)


@pytest.mark.parametrize("ask, message", [
    (lambda: is_open(NEW_YORK, datetime(2026, 3, 10, 12)), "aware datetime"),
    (lambda: business_time_between(NEW_YORK, ny("2026-03-10 12:00"), datetime(2026, 3, 11)), "aware datetime"),
    (lambda: add_business_time(NEW_YORK, ny("2026-03-10 12:00"), -H), "must not be negative"),
    (lambda: add_business_days(NEW_YORK, ny("2026-03-10 12:00"), -1), "must not be negative"),
])
def test_bad_arguments_are_refused(ask, message):
    with pytest.raises(ValueError, match=message):
        ask()


def test_from_sla_keeps_the_holidays_and_adds_closed_dates():
    assert NEW_YORK.closed_on(date(2026, 11, 26)) and not NEW_YORK.closed_on(date(2026, 12, 24))
    assert CHRISTMAS_EVE_OFF.closed_on(date(2026, 12, 24)) and CHRISTMAS_EVE_OFF.closed_on(date(2026, 11, 26))
    assert BERLIN_REP.timezone == BERLIN and BERLIN_REP.closed_on(date(2026, 11, 26))


def test_always_still_closes_on_the_holidays_it_is_given():
    around_the_clock = calendar("America/New_York", "always", "US")
    assert not is_open(around_the_clock, ny("2026-11-26 12:00"))
    assert add_business_time(around_the_clock, ny("2026-11-25 23:00"), 2 * H) == ny("2026-11-27 01:00")


def test_the_companys_closed_dates_join_its_holidays():
    doc = SlaDoc.model_validate({"timezone": "America/New_York", "business_hours": OFFICE, "holidays": "US",
                                 "closed": ["2026-12-24", "2026-12-31"], "accept_within": "5m",
                                 "first_touch_within": "1h"})
    office = BusinessCalendar.from_sla(doc.to_rules())
    assert [office.closed_on(day) for day in (date(2026, 12, 24), date(2026, 12, 31), date(2026, 11, 26),
                                              date(2026, 12, 23))] == [True, True, True, False]
    # Wednesday 23 December 16:30: the hour runs past Christmas Eve and Christmas Day into Monday.
    assert add_business_time(office, ny("2026-12-23 16:30"), H) == ny("2026-12-28 09:30")
