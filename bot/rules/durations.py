"""Durations as marketing ops write them: 30s, 5m, 1h, 2d, 1w, 1h30m, a bare number of seconds, 1bd."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from pydantic import PlainValidator

DURATION_HINT = "expected a duration like 30s, 5m, 1h, 2d"
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = r"(\d+(?:\.\d+)?)\s*([smhdw])"
_CALENDAR = re.compile(rf"(?:{_PART}\s*)+")
_BUSINESS = re.compile(r"(\d+)\s*bd")


@dataclass(frozen=True, order=True)
class BusinessDays:
    """A number of business days ("1bd"): only business-time code knows how long that is."""
    days: int

    def __str__(self) -> str:
        return f"{self.days} business day" + ("" if self.days == 1 else "s")


def parse_duration(value: str | int | float) -> timedelta | BusinessDays:
    """ "30s" "5m" "1h" "2d" "1w" "1h30m", a bare number = seconds, "1bd" = BusinessDays(1); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{DURATION_HINT} (got {value!r})")
    if isinstance(value, (int, float)):
        return _seconds(value, value)
    text = value.strip().lower()
    if text.replace(".", "", 1).isdigit():
        return _seconds(float(text), value)
    if business := _BUSINESS.fullmatch(text):
        return BusinessDays(int(business.group(1)))
    if not _CALENDAR.fullmatch(text):
        raise ValueError(f"{DURATION_HINT} (got {value!r})")
    return _seconds(sum(float(n) * _UNIT_SECONDS[unit] for n, unit in re.findall(_PART, text)), value)


def _seconds(seconds: float, written: object) -> timedelta:
    # timedelta refuses infinity, NaN and more than a billion days with errors of its own: say it in our words.
    try:
        return timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise ValueError(f"{DURATION_HINT}, and shorter than a million years (got {written!r})") from None


def to_wall_duration(value: object) -> timedelta:
    """A positive calendar duration; business days are refused (they only mean something in business time)."""
    parsed = to_business_duration(value)
    if isinstance(parsed, BusinessDays):
        raise ValueError("business days (bd) only apply where business time does (first_touch_within); "
                         "write this one in s, m, h, d or w")
    return parsed


def to_business_duration(value: object) -> timedelta | BusinessDays:
    """A positive duration, business days allowed."""
    parsed = parse_duration(value)  # type: ignore[arg-type]
    if (parsed.days if isinstance(parsed, BusinessDays) else parsed.total_seconds()) <= 0:
        raise ValueError(f"must be longer than zero (got {value!r})")
    return parsed


WallDuration = Annotated[timedelta, PlainValidator(to_wall_duration)]
BusinessDuration = Annotated[timedelta | BusinessDays, PlainValidator(to_business_duration)]


def window_words(span: timedelta) -> str:
    """ "30 days", "12 hours", "90 minutes": a window as a sentence says it."""
    seconds = int(span.total_seconds())
    for unit_seconds, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= unit_seconds and seconds % unit_seconds == 0:
            count = seconds // unit_seconds
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return f"{seconds} seconds"
