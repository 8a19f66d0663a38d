"""sla.yaml: the Sales commitment (time zone, business hours, holidays, deadlines, escalation ladder)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_tables
from pydantic import BeforeValidator, Field, PlainValidator, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.rules.durations import BusinessDays, BusinessDuration, WallDuration, parse_duration, window_words
from bot.rules.validation import Strict, parse_share

ACTIONS = ("remind_sdr", "notify_managers", "reassign")   # what an escalation step may do
BREACH_ACTIONS = ("mark_away",)                             # what too many breaches in a day do
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALWAYS = "always"
_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")

BusinessHours = Literal["always"] | Mapping[int, tuple[time, time]]   # weekday (Monday = 0) -> (open, close)


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays: a country (and region) from the `holidays` package, and/or listed dates."""
    country: str | None = None
    subdivision: str | None = None
    dates: frozenset[date] = frozenset()

    def __contains__(self, day: date) -> bool:
        if day in self.dates:
            return True
        return self.country is not None and day in _country_holidays(self.country, self.subdivision, day.year)


@lru_cache(maxsize=64)
def _country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holiday_tables.country_holidays(country, subdiv=subdivision, years=year))


@dataclass(frozen=True)
class EscalationStep:
    """One rung of the ladder: `action` once the lead has waited `at_share` of its accept window, or `at_offset`."""
    action: str
    at_share: float | None = None
    at_offset: timedelta | None = None

    def due_after(self, accept_within: timedelta) -> timedelta:
        """How long after the MQL alert this step is due."""
        return self.at_offset if self.at_offset is not None else accept_within * (self.at_share or 0)


DEFAULT_ESCALATION = (EscalationStep("remind_sdr", at_share=1.0), EscalationStep("notify_managers", at_share=2.0))


@dataclass(frozen=True)
class Cadence:
    """The effort owed before a lead may be recycled: `touches` contact attempts within `within` of the MQL."""
    touches: int = 7
    within: BusinessDays = BusinessDays(10)


@dataclass(frozen=True)
class BreachLimit:
    """After `per_day` missed deadlines in one of the rep's local days, `then` happens (mark_away)."""
    per_day: int = 3
    then: str = "mark_away"


@dataclass(frozen=True)
class CalendarRules:
    """A team's or rep's own business calendar in sla.yaml; a key left out (None) falls back rep -> team -> company."""
    timezone: ZoneInfo | None = None
    business_hours: BusinessHours | None = None
    holidays: HolidayCalendar | None = None
    closed: frozenset[date] | None = None


@dataclass(frozen=True)
class Calendars:
    """sla.yaml's `calendars`: by territory name (a team) and by HubSpot owner id (a rep)."""
    teams: Mapping[str, CalendarRules] = field(default_factory=dict)
    reps: Mapping[str, CalendarRules] = field(default_factory=dict)


@dataclass(frozen=True)
class SlaRules:
    """The SLA as the sweeper and business-time code use it. Steps are sorted by when they are due."""
    timezone: ZoneInfo
    business_hours: BusinessHours
    holidays: HolidayCalendar = field(default_factory=HolidayCalendar)
    closed: frozenset[date] = frozenset()           # the company's extra closed dates, beyond `holidays`
    calendars: Calendars = Calendars()
    accept_within: timedelta = timedelta(minutes=5)
    first_touch_within: timedelta | BusinessDays = timedelta(hours=1)
    escalation: tuple[EscalationStep, ...] = DEFAULT_ESCALATION
    max_snooze: timedelta = timedelta(hours=4)
    fast_lane_accept_within: timedelta = timedelta(minutes=5)
    cadence: Cadence = Cadence()
    breaches: BreachLimit | None = BreachLimit()   # None: no daily limit


# --- parsing what people write ---------------------------------------------------------------

def _timezone(value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):   # OSError: a name too long for a file
        raise ValueError(f"unknown time zone {value!r}; use a name like America/New_York or Europe/Paris") from None


def _business_hours(value: Any) -> BusinessHours:
    if isinstance(value, str) and value.strip().lower() == ALWAYS:
        return ALWAYS
    if not isinstance(value, dict) or not value:
        raise ValueError(f"write `always`, or days with hours like  mon-fri: \"09:00-17:00\" (got {value!r})")
    week, errors = _week(value)
    if errors:
        raise ValueError("; ".join(dict.fromkeys(errors)))
    return week


def _week(value: dict) -> tuple[dict[int, tuple[time, time]], list[str]]:
    """Weekday -> opening hours, and every mistake found on the way (bad days, bad hours, overlaps)."""
    week, set_by, errors = {}, {}, []
    for days, hours in value.items():
        try:
            opening, indexes = _hours(days, hours), _days(days)
        except ValueError as error:
            errors.append(str(error))
            continue
        for day in indexes:
            if day in week:
                errors.append(f"{days} overlaps {set_by[day]}: {DAY_NAMES[day]} is given hours twice")
            week[day], set_by[day] = opening, days
    return dict(sorted(week.items())), errors


def _days(text: Any) -> list[int]:
    parts = str(text).strip().lower().split("-")
    indexes = [_day(part, text) for part in parts]
    if len(indexes) > 2 or (len(indexes) == 2 and indexes[0] > indexes[1]):
        raise ValueError(f"{text!r} is not a day or a day range running forward, like mon-fri")
    return list(range(indexes[0], indexes[-1] + 1))


def _day(part: str, text: Any) -> int:
    name = part.strip()[:3]
    if name not in DAYS or not DAY_NAMES[DAYS.index(name)].lower().startswith(part.strip()):
        raise ValueError(f"{text!r} is not a day or a day range like mon-fri (days: {', '.join(DAYS)})")
    return DAYS.index(name)


def _hours(days: Any, value: Any) -> tuple[time, time]:
    match = _HOURS.fullmatch(value.strip()) if isinstance(value, str) else None
    try:
        opening = (time(int(match[1]), int(match[2])), time(int(match[3]), int(match[4]))) if match else None
    except ValueError:
        opening = None
    if opening is None or opening[0] >= opening[1]:
        raise ValueError(f"{days}: expected opening hours like \"09:00-17:00\", start before end "
                         f"within one day (got {value!r})")
    return opening


def _holidays(value: Any) -> HolidayCalendar:
    if value is None or value == "" or value == []:
        return HolidayCalendar()
    if value is False:
        # YAML 1.1 reads the bare word NO (Norway) as false: make the author say which they meant.
        raise ValueError("got false: write null for no holidays, or put a country code in quotes (\"NO\" for Norway)")
    if isinstance(value, str):
        return _country_calendar(value)
    if isinstance(value, list):
        return HolidayCalendar(dates=frozenset(map(_iso_date, value)))
    raise ValueError(f"expected a country code like US or US-CA, a list of dates, or null (got {value!r})")


def _country_calendar(text: str) -> HolidayCalendar:
    country, _, region = text.strip().upper().partition("-")
    supported = holiday_tables.list_supported_countries()
    if country not in supported:
        raise ValueError(f"{text!r} is not a country the holidays package knows; use a code like US, GB or DE")
    regions = {code.upper(): code for code in supported[country]}
    if region and region not in regions:
        known = sorted(regions)
        listed = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
        raise ValueError(f"{country} has no region {region!r}; known regions: {listed or 'none'}")
    return HolidayCalendar(country=country, subdivision=regions.get(region) if region else None)


def _iso_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date like 2025-12-26") from None


def _closed_dates(value: Any) -> frozenset[date]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise ValueError(f"expected a list of dates like [2026-12-24, 2026-12-31] (got {value!r})")
    return frozenset(map(_iso_date, value))


def _reference(value: Any) -> Any:
    # An unquoted owner id (103) arrives as a number; teams and reps are named by text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _at(value: Any) -> tuple[float | None, timedelta | None]:
    share = parse_share(value)
    if share is not None:
        if share <= 0:
            raise ValueError(f"must be more than 0% (got {value!r})")
        return share, None
    try:
        offset = parse_duration(value)
    except ValueError:
        raise ValueError(f"expected a share of accept_within like 100% or a duration like 10m (got {value!r})") from None
    if isinstance(offset, BusinessDays) or offset <= timedelta(0):
        raise ValueError(f"expected a share like 150% or a positive wall-clock duration like 10m (got {value!r})")
    return None, offset


def _business_days(value: Any) -> BusinessDays:
    try:
        parsed = parse_duration(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, BusinessDays) or parsed.days <= 0:
        raise ValueError(f"expected a number of business days like 10bd, more than zero (got {value!r})")
    return parsed


def _count(value: Any) -> Any:
    # YAML reads yes/no/on/off as booleans, and pydantic would take true for 1.
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number (got {str(value).lower()})")
    return value


Count = Annotated[int, BeforeValidator(_count), Field(ge=1)]


class EscalationDoc(Strict):
    at: Annotated[tuple, PlainValidator(_at)]
    do: Literal[ACTIONS]

    def to_step(self) -> EscalationStep:
        return EscalationStep(self.do, *self.at)


class CadenceDoc(Strict):
    touches: Count = Cadence.touches
    within: Annotated[BusinessDays, PlainValidator(_business_days)] = Cadence.within


class BreachesDoc(Strict):
    per_day: Count = BreachLimit.per_day
    then: Literal[BREACH_ACTIONS] = BreachLimit.then


TimeZone = Annotated[ZoneInfo, PlainValidator(_timezone)]
Hours = Annotated[Any, PlainValidator(_business_hours)]
Holidays = Annotated[HolidayCalendar, PlainValidator(_holidays)]
ClosedDates = Annotated[frozenset[date], PlainValidator(_closed_dates)]
Reference = Annotated[str, BeforeValidator(_reference), Field(min_length=1)]


class CalendarDoc(Strict):
    """A team's or rep's calendar as written: every key optional (null or left out: the next level's)."""
    timezone: TimeZone | None = None
    business_hours: Hours | None = None
    holidays: Holidays | None = None
    closed: ClosedDates | None = None

    def to_calendar(self) -> CalendarRules:
        return CalendarRules(self.timezone, self.business_hours, self.holidays, self.closed)


class CalendarsDoc(Strict):
    teams: dict[Reference, CalendarDoc] = {}     # territory name (routing.yaml) -> its calendar
    reps: dict[Reference, CalendarDoc] = {}      # HubSpot owner id -> the rep's calendar

    def to_calendars(self) -> Calendars:
        return Calendars({name: doc.to_calendar() for name, doc in self.teams.items()},
                         {owner: doc.to_calendar() for owner, doc in self.reps.items()})


class SlaDoc(Strict):
    """sla.yaml as written."""
    timezone: TimeZone
    business_hours: Hours
    holidays: Holidays = HolidayCalendar()
    closed: ClosedDates = frozenset()
    calendars: CalendarsDoc = CalendarsDoc()
    accept_within: WallDuration
    fast_lane_accept_within: WallDuration = SlaRules.fast_lane_accept_within
    first_touch_within: BusinessDuration
    escalation: tuple[EscalationDoc, ...] | None = None   # None (absent): the default ladder
    max_snooze: WallDuration = timedelta(hours=4)
    cadence: CadenceDoc = CadenceDoc()
    breaches: BreachesDoc | None = BreachesDoc()           # null: no daily limit

    @model_validator(mode="after")
    def _refuse_twin_steps(self) -> SlaDoc:
        twins = _ladder_twins(self.escalation or (), self._accept_spans())
        if twins:
            raise ValidationError.from_exception_data("SlaDoc", [_twin_error(self.escalation, *twin) for twin in twins])
        return self

    def to_rules(self) -> SlaRules:
        return SlaRules(timezone=self.timezone, business_hours=self.business_hours, holidays=self.holidays,
                        closed=self.closed, calendars=self.calendars.to_calendars(),
                        accept_within=self.accept_within, first_touch_within=self.first_touch_within,
                        escalation=self._ladder(), max_snooze=self.max_snooze,
                        fast_lane_accept_within=self.fast_lane_accept_within,
                        cadence=Cadence(self.cadence.touches, self.cadence.within),
                        breaches=self.breaches and BreachLimit(self.breaches.per_day, self.breaches.then))

    def _accept_spans(self) -> tuple[timedelta, ...]:
        """The accept windows a ladder is measured against: the normal one and the (never longer) fast lane."""
        return self.accept_within, min(self.fast_lane_accept_within, self.accept_within)

    def _ladder(self) -> tuple[EscalationStep, ...]:
        if self.escalation is None:
            return DEFAULT_ESCALATION
        steps = [step.to_step() for step in self.escalation]
        return tuple(sorted(steps, key=lambda step: step.due_after(self.accept_within)))


def _ladder_twins(steps: tuple[EscalationDoc, ...], spans: tuple[timedelta, ...]) -> list[tuple[int, int, timedelta]]:
    """(earlier, later, accept window): each step that repeats an earlier one's action at the same moment."""
    twins = []
    for later in range(len(steps)):
        found = ((earlier, _shared_window(steps[earlier].to_step(), steps[later].to_step(), spans))
                 for earlier in range(later))
        twins += [(earlier, later, span) for earlier, span in found if span is not None][:1]
    return twins


def _shared_window(one: EscalationStep, other: EscalationStep, spans: tuple[timedelta, ...]) -> timedelta | None:
    """The first accept window in which both steps do the same thing at the same moment, if any."""
    if one.action != other.action:
        return None
    return next((span for span in spans if one.due_after(span) == other.due_after(span)), None)


def _twin_error(steps: tuple[EscalationDoc, ...], first: int, second: int, span: timedelta) -> InitErrorDetails:
    message = (f"escalation[{first}] already does {steps[second].do} at this moment (when the accept window "
               f"is {window_words(span)}); each step runs once per lead: remove one or give it another `at`")
    # Raised with the step's own location, so check-config names its line rather than the whole file's.
    return InitErrorDetails(type=PydanticCustomError("value_error", "{error}", {"error": message}),
                            loc=("escalation", second, "at"), input=steps[second].at)


SLA_MODELS = (SlaDoc, EscalationDoc, CadenceDoc, BreachesDoc, CalendarsDoc, CalendarDoc)
