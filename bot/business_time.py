"""PURE business time: open hours per weekday in a time zone, less closed days; add, measure, find the next opening.

Every moment in and out is an aware datetime, and results are UTC instants. Arithmetic happens in UTC because Python
adds and subtracts datetimes sharing one tzinfo on the wall clock, an hour off across DST; results stay in UTC because
a local time in a repeated DST hour never equals a datetime in another zone (PEP 495), a trap for any caller's `==`.
"always" is open around the clock on every day not closed (with no closed days: plain elapsed time).
Loops walk open days, never minutes, and stop with a ValueError after a year without a single open day.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice, takewhile
from typing import Callable, Iterable, Iterator, Mapping
from zoneinfo import ZoneInfo

from bot.rules.sla import ALWAYS, BusinessHours, HolidayCalendar, SlaRules

ONE_DAY = timedelta(days=1)
MIDNIGHT = time(0)
# A calendar with no open day in a whole year is broken, not on a long break: stop walking and say so.
CLOSED_DAYS_LIMIT = 366

Span = tuple[datetime, datetime]   # an open interval [opening, closing) as UTC instants


def never_closed(day: date) -> bool:
    """No closed days: the default for a calendar without holidays."""
    return False


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works: `hours` ("always", or weekday Monday=0 -> (open, close)) in `timezone`, except `closed_on`."""
    timezone: ZoneInfo
    hours: str | Mapping[int, tuple[time, time]]
    closed_on: Callable[[date], bool] = never_closed

    def __post_init__(self) -> None:
        check_hours(self.hours)

    @classmethod
    def from_sla(cls, sla: SlaRules, *, timezone: ZoneInfo | None = None,
                 closed_dates: Iterable[date] = ()) -> BusinessCalendar:
        """The company calendar from sla.yaml; a rep elsewhere passes a `timezone`, extra days off `closed_dates`."""
        return cls.closing_on(timezone or sla.timezone, sla.business_hours, sla.holidays,
                              sla.closed | set(closed_dates))

    @classmethod
    def closing_on(cls, timezone: ZoneInfo, hours: BusinessHours, holidays: HolidayCalendar,
                   closed: Iterable[date]) -> BusinessCalendar:
        """Open `hours` in `timezone`, closed on the public `holidays` and on the extra `closed` dates."""
        days_off = replace(holidays, dates=holidays.dates | frozenset(closed))
        return cls(timezone, hours, days_off.__contains__)


def check_hours(hours: object) -> None:
    """ValueError unless `hours` is "always" or a non-empty weekday -> (open, close) map running forward."""
    if hours == ALWAYS:
        return
    if not isinstance(hours, Mapping) or not hours:
        raise ValueError(f"business hours must be 'always' or open on at least one weekday (got {hours!r}): "
                         "a calendar that is never open has no next opening")
    wrong = [day for day, (opening, closing) in hours.items() if day not in range(7) or not opening < closing]
    if wrong:
        raise ValueError(f"business hours for weekday(s) {wrong} must open before they close, "
                         "within one day (weekdays: Monday = 0 … Sunday = 6)")


# --- the public questions --------------------------------------------------------------------

def is_open(calendar: BusinessCalendar, moment: datetime) -> bool:
    """Whether the team works at `moment`: open from the opening time, closed from the closing time."""
    instant = to_utc(moment)
    span = open_span_on(calendar, instant.astimezone(calendar.timezone).date())
    return span is not None and span[0] <= instant < span[1]


def next_open(calendar: BusinessCalendar, moment: datetime) -> datetime:
    """`moment` itself when open, else the next opening."""
    opened, _ = next(spans_from(calendar, moment))
    return opened


def add_business_time(calendar: BusinessCalendar, start: datetime, span: timedelta) -> datetime:
    """The moment `span` of open time after `start`; a span that ends exactly at a closing ends there."""
    if span < timedelta(0):
        raise ValueError(f"business time to add must not be negative (got {span})")
    remaining, spans = span, spans_from(calendar, start)
    while True:   # bounded: spans_from raises after CLOSED_DAYS_LIMIT closed days, and each pass uses a day up
        opened, closed = next(spans)
        if remaining <= closed - opened:
            return opened + remaining
        remaining -= closed - opened


def add_business_days(calendar: BusinessCalendar, start: datetime, days: int) -> datetime:
    """ "Nbd": `start`'s local time on the Nth next open day, kept within that day's hours.

    A start outside open hours gets N whole open days: the deadline is the closing of the Nth open day counted from
    its next opening (a lead in on Saturday with 1bd is due at Monday's close, not at Monday's time of Saturday).
    """
    if days < 0:
        raise ValueError(f"business days to add must not be negative (got {days})")
    opening = next_open(calendar, start)
    if days == 0:
        return opening
    local = opening.astimezone(calendar.timezone)
    if opening != to_utc(start):
        _, (_, closing) = nth_open_day(calendar, local.date(), days)
        return closing
    day, (opened, closed) = nth_open_day(calendar, local.date() + ONE_DAY, days)
    return min(max(local_instant(calendar.timezone, day, local.time()), opened), closed)


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Open time from `start` to `end`; negative when `end` comes first, like subtracting datetimes."""
    begin, finish = to_utc(start), to_utc(end)
    if finish < begin:
        return -business_time_between(calendar, end, start)
    spans = takewhile(lambda span: span[0] < finish, spans_from(calendar, begin))
    return sum((min(closed, finish) - opened for opened, closed in spans), timedelta(0))


# --- walking the calendar --------------------------------------------------------------------

def spans_from(calendar: BusinessCalendar, moment: datetime) -> Iterator[Span]:
    """Open intervals that end after `moment`, in order, the first one starting no earlier than `moment`."""
    instant = to_utc(moment)
    for _, (opened, closed) in open_days_from(calendar, instant.astimezone(calendar.timezone).date()):
        if closed > instant:
            yield max(opened, instant), closed


def nth_open_day(calendar: BusinessCalendar, first: date, n: int) -> tuple[date, Span]:
    """The nth open day (1 = the first) counting from local day `first` itself, with its open interval."""
    return next(islice(open_days_from(calendar, first), n - 1, None))


def open_days_from(calendar: BusinessCalendar, first: date) -> Iterator[tuple[date, Span]]:
    """Each open local day from `first` on with its open interval; ValueError after a year with none."""
    day, closed_run = first, 0
    while closed_run < CLOSED_DAYS_LIMIT:
        span = open_span_on(calendar, day)
        closed_run = 0 if span else closed_run + 1
        if span:
            yield day, span
        day += ONE_DAY
    raise ValueError(f"the business calendar ({calendar.timezone.key}) has no open hours on any day from "
                     f"{day - CLOSED_DAYS_LIMIT * ONE_DAY} to {day - ONE_DAY}: check business_hours and holidays")


def open_span_on(calendar: BusinessCalendar, day: date) -> Span | None:
    """The open interval of local `day` as UTC instants, or None when the team does not work that day."""
    hours = hours_on(calendar, day.weekday())
    if hours is None or calendar.closed_on(day):
        return None
    opening, closing = hours
    opened = local_instant(calendar.timezone, day, opening)
    closed = local_instant(calendar.timezone, *((day, closing) if closing else (day + ONE_DAY, MIDNIGHT)))
    return (opened, closed) if opened < closed else None   # a DST gap can swallow very short hours whole


def hours_on(calendar: BusinessCalendar, weekday: int) -> tuple[time, time | None] | None:
    """(open, close) on a weekday, close None meaning the next midnight ("always"); None when closed that weekday."""
    if calendar.hours == ALWAYS:
        return MIDNIGHT, None
    return calendar.hours.get(weekday)


# --- wall clock to instants ------------------------------------------------------------------

def local_instant(zone: ZoneInfo, day: date, wall: time) -> datetime:
    """The first UTC instant whose wall time in `zone` on `day` is at or past `wall`.

    A repeated wall time (DST ends) is its first occurrence; a skipped one (DST starts) is the moment of the change.
    """
    local = datetime.combine(day, wall.replace(fold=0), tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    return end_of_gap(zone, local)


def end_of_gap(zone: ZoneInfo, local: datetime) -> datetime:
    """The UTC instant a DST gap containing the wall time `local` ends, found to the second between its two readings."""
    # PEP 495: in a gap, fold=0 reads the wall time with the offset before the change, fold=1 with the one after,
    # so the change lies between the two instants (at most a few hours apart: a short bisection).
    earliest, latest = sorted((local.astimezone(UTC), local.replace(fold=1).astimezone(UTC)))
    wall = local.replace(tzinfo=None)
    seconds = range(int((latest - earliest).total_seconds()) + 1)
    past = bisect_left(seconds, True, key=lambda s: (earliest + timedelta(seconds=s)).astimezone(zone)
                       .replace(tzinfo=None) >= wall)
    return earliest + timedelta(seconds=past)


def to_utc(moment: datetime) -> datetime:
    """`moment` as a UTC instant; a naive datetime is refused, since its zone would be a guess."""
    if moment.utcoffset() is None:
        raise ValueError(f"business time needs an aware datetime (got naive {moment.isoformat()})")
    return moment.astimezone(UTC)


def start_of_local_day(moment: datetime, zone: ZoneInfo) -> datetime:
    """Midnight of `moment`'s day in `zone`, as an aware UTC time (a rep's "today" for caps and misses)."""
    local = moment.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
