"""bot.calendars: a rep's deadlines in their own business calendar (rep -> team -> company, each fact on its own),
against the company's in New York: both DST changes (the US and the EU switch weeks apart), a team holiday that is
not the company's, a long weekend only the rep has, a rep's region and closed dates. Fixed times only."""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.calendars import calendar_of
from bot.rules.routing import RoutingDoc
from bot.rules.sla import SlaDoc
from bot.sla import deadlines_for_new_lead

NY, BERLIN, LA = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles")
COMPANY = {"timezone": "America/New_York", "business_hours": {"mon-fri": "09:00-17:00"}, "holidays": "US",
           "closed": ["2026-12-24"], "accept_within": "5m", "first_touch_within": "1h"}
CALENDARS = {"teams": {"DACH": {"holidays": "DE", "closed": ["2026-12-31"]},
                       "Enterprise": {"timezone": "America/Los_Angeles"}},
             "reps": {"104": {"holidays": "DE-BY"}, "105": {"closed": ["2026-06-05"]}}}
# 103 and 104: Berlin reps (routing.yaml's working hours) in DACH; 102: Enterprise; 101 and 106: in no territory.
ROUTING = RoutingDoc.model_validate({
    "sdr_pool": ["101", "102", {"owner": "103", "timezone": "Europe/Berlin", "hours": {"mon-fri": "08:00-17:00"}},
                 {"owner": "104", "timezone": "Europe/Berlin", "hours": {"mon-fri": "08:00-17:00"}}, "105",
                 {"owner": "106", "timezone": "Asia/Tokyo"}],
    "territories": [{"name": "DACH", "when": {"country": "Germany"}, "pool": ["103", "104", "105"]},
                    {"name": "Enterprise", "when": {"employees_at_least": 1000}, "pool": ["102", "103"]}],
    "channels": {"leads": "#leads", "managers": "#managers", "fallback": "#unassigned"}}).to_rules()
SLA = SlaDoc.model_validate(COMPANY | {"calendars": CALENDARS}).to_rules()


def at(zone: ZoneInfo, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


WEEK_8_TO_5 = {day: (time(8), time(17)) for day in range(5)}
WEEK_9_TO_5 = {day: (time(9), time(17)) for day in range(5)}

FACT_CASES = [
    # (owner, time zone, hours, what is closed, what is open)
    (None, NY, WEEK_9_TO_5, [date(2026, 11, 26), date(2026, 12, 24)], [date(2026, 5, 14)]),
    ("101", NY, WEEK_9_TO_5, [date(2026, 11, 26), date(2026, 12, 24)], [date(2026, 5, 14)]),   # no territory
    ("999", NY, WEEK_9_TO_5, [date(2026, 11, 26)], [date(2026, 5, 14)]),                      # not in routing.yaml
    # A routing.yaml time zone without hours changes nothing there (a warning), nor here.
    ("106", NY, WEEK_9_TO_5, [date(2026, 11, 26)], [date(2026, 5, 14)]),
    # A team's time zone, the company's hours and holidays read in it.
    ("102", LA, WEEK_9_TO_5, [date(2026, 11, 26), date(2026, 12, 24)], []),
    # 103: their routing.yaml zone and hours (which win over their second team's zone); DACH's holidays and closed
    # dates, which replace the company's (Thanksgiving and Christmas Eve are open, Ascension Day is not).
    ("103", BERLIN, WEEK_8_TO_5, [date(2026, 5, 14), date(2026, 12, 31)],
     [date(2026, 11, 26), date(2026, 12, 24), date(2026, 6, 4)]),
    # 104: their own region, Bavaria, over the team's Germany: Corpus Christi too.
    ("104", BERLIN, WEEK_8_TO_5, [date(2026, 5, 14), date(2026, 6, 4), date(2026, 12, 31)], [date(2026, 11, 26)]),
    # 105: no routing hours: the company's zone and hours, DACH's holidays, their own closed date instead of DACH's.
    ("105", NY, WEEK_9_TO_5, [date(2026, 5, 14), date(2026, 6, 5)], [date(2026, 12, 31), date(2026, 11, 26)]),
]


@pytest.mark.parametrize("owner, zone, hours, closed, open_days", FACT_CASES)
def test_each_fact_comes_from_the_most_specific_place_that_gives_it(owner, zone, hours, closed, open_days):
    calendar = calendar_of(SLA, ROUTING, owner)
    assert (calendar.timezone, calendar.hours) == (zone, hours)
    assert [day for day in closed + open_days if calendar.closed_on(day)] == closed


def test_without_calendars_every_rep_has_the_companys_closed_days_in_their_own_zone():
    plain = SlaDoc.model_validate(COMPANY).to_rules()
    office, rep = calendar_of(plain, ROUTING, None), calendar_of(plain, ROUTING, "101")
    assert (rep.timezone, rep.hours, rep.closed_on.__self__) == (office.timezone, office.hours, office.closed_on.__self__)
    berlin = calendar_of(plain, ROUTING, "103")
    assert berlin.timezone == BERLIN and berlin.closed_on(date(2026, 12, 24)) and berlin.closed_on(date(2026, 11, 26))


FIRST_TOUCH_CASES = [
    # (owner, became an MQL, first touch due): 1h of business time in the owner's calendar.
    # Winter: New York 10:00 is Berlin 16:00; the Berlin rep has 1h left before their 17:00 close.
    (None, at(NY, "2026-03-02 10:00"), at(NY, "2026-03-02 11:00")),
    ("103", at(NY, "2026-03-02 10:00"), at(BERLIN, "2026-03-02 17:00")),
    ("103", at(NY, "2026-03-02 11:00"), at(BERLIN, "2026-03-03 09:00")),
    # US on summer time (8 March), the EU not yet (29 March): only 5 hours apart, New York 11:00 is Berlin 16:00.
    (None, at(NY, "2026-03-16 11:00"), at(NY, "2026-03-16 12:00")),
    ("103", at(NY, "2026-03-16 11:00"), at(BERLIN, "2026-03-16 17:00")),
    # Both on summer time: 6 hours again.
    ("103", at(NY, "2026-03-30 11:00"), at(BERLIN, "2026-03-31 09:00")),
    # The EU back on winter time (25 October), the US not yet (1 November): 5 hours.
    ("103", at(NY, "2026-10-20 11:00"), at(BERLIN, "2026-10-21 09:00")),
    ("103", at(NY, "2026-10-27 11:00"), at(BERLIN, "2026-10-27 17:00")),
    ("103", at(NY, "2026-11-03 11:00"), at(BERLIN, "2026-11-04 09:00")),
    # The Berlin rep's Friday ends before the EU's spring change; the hour runs on into Monday, summer time.
    ("103", at(NY, "2026-03-27 11:30"), at(BERLIN, "2026-03-30 08:30")),
    # A team holiday that is not the company's: Ascension Day (Thu 14 May) in Germany only.
    (None, at(NY, "2026-05-13 10:30"), at(NY, "2026-05-13 11:30")),
    ("103", at(BERLIN, "2026-05-13 16:30"), at(BERLIN, "2026-05-15 08:30")),
    # Easter is a long weekend in Germany (Good Friday to Easter Monday), a plain weekend in New York.
    (None, at(NY, "2026-04-02 16:30"), at(NY, "2026-04-03 09:30")),
    ("103", at(BERLIN, "2026-04-02 16:30"), at(BERLIN, "2026-04-07 08:30")),
    # The company's Thanksgiving is a working day for the Berlin rep.
    (None, at(NY, "2026-11-25 16:30"), at(NY, "2026-11-27 09:30")),
    ("103", at(BERLIN, "2026-11-26 10:00"), at(BERLIN, "2026-11-26 11:00")),
    # A rep's region: Corpus Christi (Thu 4 June) in Bavaria, not in the rest of the team.
    ("103", at(BERLIN, "2026-06-03 16:30"), at(BERLIN, "2026-06-04 08:30")),
    ("104", at(BERLIN, "2026-06-03 16:30"), at(BERLIN, "2026-06-05 08:30")),
    # Closed dates: the company's Christmas Eve; the team's New Year's Eve, which runs into the holiday.
    (None, at(NY, "2026-12-23 16:30"), at(NY, "2026-12-28 09:30")),
    ("103", at(BERLIN, "2026-12-30 16:30"), at(BERLIN, "2027-01-04 08:30")),
]


@pytest.mark.parametrize("owner, became_mql, due", FIRST_TOUCH_CASES)
def test_the_first_touch_is_due_in_the_owners_business_time(owner, became_mql, due):
    [_, first_touch, _] = deadlines_for_new_lead(SLA, calendar_of(SLA, ROUTING, owner), became_mql, False)
    assert first_touch.due_at == due


def test_the_cadence_counts_the_reps_business_days_over_their_long_weekend():
    # Ten business days from Thursday 2 April: Berlin skips Good Friday and Easter Monday, New York does not.
    start = at(BERLIN, "2026-04-02 10:00")
    [*_, office] = deadlines_for_new_lead(SLA, calendar_of(SLA, ROUTING, None), start, False)
    [*_, rep] = deadlines_for_new_lead(SLA, calendar_of(SLA, ROUTING, "103"), start, False)
    assert office.due_at == at(NY, "2026-04-15 17:00")    # 04:00 in New York is closed: the close of the 10th day
    assert rep.due_at == at(BERLIN, "2026-04-20 10:00")
