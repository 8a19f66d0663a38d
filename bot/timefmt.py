"""PURE: how times read to a rep ("2 min ago", "2 min 10 s"). `now` is always a parameter."""
from __future__ import annotations

from datetime import datetime, timedelta


def duration_words(span: timedelta) -> str:
    """A short human duration: 45 s, 2 min 10 s, 3 h 5 min, 4 d 2 h."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def ago(moment: datetime | None, now: datetime) -> str:
    """"2 min ago" with one unit only, as a rep skims it; "just now" under a minute."""
    if moment is None:
        return "at an unknown time"
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return "just now"
    for unit_seconds, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= unit_seconds:
            return f"{seconds // unit_seconds} {unit} ago"
    return "just now"
