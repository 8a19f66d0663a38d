"""sla.yaml: the Sales commitment (time zone, business hours, holidays, deadlines, escalation ladder)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_tables
from pydantic import PlainValidator

from bot.rules.durations import BusinessDays, BusinessDuration, WallDuration, parse_duration
from bot.rules.validation import Strict, parse_share

ACTIONS = ("remind_sdr", "notify_managers")   # what an escalation step may do
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
    """One rung of the ladder: `action` once the lead has waited `at_share` of accept_within, or `at_offset`."""
    action: str
    at_share: float | None = None
    at_offset: timedelta | None = None

    def due_after(self, accept_within: timedelta) -> timedelta:
        """How long after the MQL alert this step is due."""
        return self.at_offset if self.at_offset is not None else accept_within * (self.at_share or 0)


DEFAULT_ESCALATION = (EscalationStep("remind_sdr", at_share=1.0), EscalationStep("notify_managers", at_share=2.0))


@dataclass(frozen=True)
class SlaRules:
    """The SLA as the sweeper and business-time code use it. Steps are sorted by when they are due."""
    timezone: ZoneInfo
    business_hours: BusinessHours
    holidays: HolidayCalendar = field(default_factory=HolidayCalendar)
    accept_within: timedelta = timedelta(minutes=5)
    first_touch_within: timedelta | BusinessDays = timedelta(hours=1)
    escalation: tuple[EscalationStep, ...] = DEFAULT_ESCALATION
    max_snooze: timedelta = timedelta(hours=4)


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


class EscalationDoc(Strict):
    at: Annotated[tuple, PlainValidator(_at)]
    do: Literal[ACTIONS]


class SlaDoc(Strict):
    """sla.yaml as written."""
    timezone: Annotated[ZoneInfo, PlainValidator(_timezone)]
    business_hours: Annotated[Any, PlainValidator(_business_hours)]
    holidays: Annotated[HolidayCalendar, PlainValidator(_holidays)] = HolidayCalendar()
    accept_within: WallDuration
    first_touch_within: BusinessDuration
    escalation: tuple[EscalationDoc, ...] | None = None   # None (absent): the default ladder
    max_snooze: WallDuration = timedelta(hours=4)

    def to_rules(self) -> SlaRules:
        return SlaRules(timezone=self.timezone, business_hours=self.business_hours, holidays=self.holidays,
                        accept_within=self.accept_within, first_touch_within=self.first_touch_within,
                        escalation=self._ladder(), max_snooze=self.max_snooze)

    def _ladder(self) -> tuple[EscalationStep, ...]:
        if self.escalation is None:
            return DEFAULT_ESCALATION
        steps = [EscalationStep(step.do, *step.at) for step in self.escalation]
        return tuple(sorted(steps, key=lambda step: step.due_after(self.accept_within)))


SLA_MODELS = (SlaDoc, EscalationDoc)
