"""reports.yaml: Marketing's MQL volume commitment and when the review is posted to leadership in Slack."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from bot.rules.routing import Channel
from bot.rules.validation import Strict

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Without `starting`, reviews count from this Monday: every-2-weeks schedules then agree across restarts and hosts.
EPOCH = date(2026, 1, 5)
_EVERY = re.compile(r"\s*(\d+)\s*(w|d)\s*")
_CLOCK = re.compile(r"\s*(\d{1,2}):(\d{2})\s*")


@dataclass(frozen=True)
class ReviewSchedule:
    """Reviews fall every `every_days` days on `weekday` at `at`, local time in `zone`, from `first` on."""
    every_days: int = 14
    weekday: int = 0                     # Monday = 0
    at: time = time(9, 0)
    first: date | None = None            # None: the first `weekday` on or after EPOCH
    zone: ZoneInfo = ZoneInfo("UTC")     # sla.yaml's time zone, bound when the files are read together

    def latest_due(self, now: datetime) -> datetime | None:
        """The latest review moment at or before `now` (aware UTC), None before the first one."""
        first = self._first_day()
        local_today = now.astimezone(self.zone).date()
        if local_today < first:
            return None
        day = first + timedelta(days=(local_today - first).days // self.every_days * self.every_days)
        moment = self._moment(day)
        if moment > now:
            day -= timedelta(days=self.every_days)
            if day < first:
                return None
            moment = self._moment(day)
        return moment

    def period_before(self, moment: datetime) -> tuple[datetime, datetime]:
        """What the review at `moment` covers: from the review `every_days` earlier, at the same local time (so
        across a DST change the periods neither overlap nor leave an hour out), up to this one."""
        earlier = moment.astimezone(self.zone).date() - timedelta(days=self.every_days)
        return self._moment(earlier), moment

    def _first_day(self) -> date:
        start = self.first or EPOCH
        return start + timedelta(days=(self.weekday - start.weekday()) % 7)

    def _moment(self, day: date) -> datetime:
        from bot.business_time import local_instant   # business_time imports bot.rules: import it when first used
        return local_instant(self.zone, day, self.at).astimezone(timezone.utc)


@dataclass(frozen=True)
class ReportsRules:
    """Marketing's monthly MQL target (None: no commitment written) and the review's channel and schedule."""
    monthly_mql_target: int | None = None
    channel: str | None = None           # None: routing.yaml's managers channel
    review: ReviewSchedule = field(default_factory=ReviewSchedule)

    def in_zone(self, zone: ZoneInfo) -> ReportsRules:
        return replace(self, review=replace(self.review, zone=zone))


# --- parsing what people write ---------------------------------------------------------------

def _every(value: Any) -> int:
    match = _EVERY.fullmatch(value) if isinstance(value, str) else None
    days = int(match[1]) * (7 if match[2] == "w" else 1) if match else 0
    if not days:
        raise ValueError(f"write how often as weeks or days, like 2w or 14d (got {value!r})")
    return days


def _weekday(value: Any) -> int:
    """A day's full name or its first three letters, in any case."""
    text = value.strip().lower() if isinstance(value, str) else ""
    for index, name in enumerate(WEEKDAYS):
        if text in (name, name[:3]):
            return index
    raise ValueError(f"expected a day of the week like monday (got {value!r})")


def _clock(value: Any) -> time:
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"expected a time of day like \"09:00\" (in quotes) (got {value!r})")
    return time(int(match[1]), int(match[2]))


def _day(value: Any) -> date:
    """A date (YAML reads 2026-11-30 as one) or its ISO text; a date with a time of day is refused."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"expected a date like 2026-11-30 (got {value!r})")


class ReviewDoc(Strict):
    every: Annotated[int, BeforeValidator(_every)] = 14
    # `day`, not `on`: YAML 1.1 reads the key `on` as the boolean true.
    day: Annotated[int, BeforeValidator(_weekday)] = 0
    at: Annotated[time, BeforeValidator(_clock)] = time(9, 0)
    starting: Annotated[date | None, BeforeValidator(lambda value: None if value is None else _day(value))] = None

    @field_validator("starting")
    @classmethod
    def _starting_on_the_day(cls, starting: date | None, info: ValidationInfo) -> date | None:
        day = info.data.get("day")
        if starting is not None and day is not None and starting.weekday() != day:
            raise ValueError(f"{starting} is a {WEEKDAYS[starting.weekday()]} but the review is on "
                             f"{WEEKDAYS[day]}: pick a {WEEKDAYS[day]}")
        return starting


class ReportsDoc(Strict):
    """reports.yaml as written."""
    monthly_mql_target: Annotated[int, Field(gt=0)] | None = None
    channel: Channel | None = None
    review: ReviewDoc = ReviewDoc()

    def to_rules(self) -> ReportsRules:
        review = ReviewSchedule(every_days=self.review.every, weekday=self.review.day, at=self.review.at,
                                first=self.review.starting)
        return ReportsRules(monthly_mql_target=self.monthly_mql_target, channel=self.channel, review=review)


REPORTS_MODELS = (ReportsDoc, ReviewDoc)
