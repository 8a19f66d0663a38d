"""Frozen value types shared by every layer: what the pure core decides on and returns.

Times are timezone-aware UTC datetimes everywhere; HubSpot values stay strings as HubSpot
sends them (parsing is the reader's job, see `parse_hubspot_time` / `parse_number`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Iterator, Mapping, NamedTuple, Sequence

COMPANY_PREFIX = "company."


@dataclass(frozen=True)
class Company:
    id: str
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Contact:
    """A HubSpot contact as read now, with its primary company if it has one."""
    id: str
    properties: Mapping[str, str] = field(default_factory=dict)
    company: Company | None = None

    def get(self, name: str) -> str | None:
        """A property value; `company.x` reads the company's `x`. Empty strings count as missing."""
        if name.startswith(COMPANY_PREFIX):
            props = self.company.properties if self.company else {}
            value = props.get(name[len(COMPANY_PREFIX):])
        else:
            value = self.properties.get(name)
        return value if value not in (None, "") else None

    @property
    def display_name(self) -> str:
        first, last = self.get("firstname") or "", self.get("lastname") or ""
        return f"{first} {last}".strip() or self.get("email") or f"Contact {self.id}"


@dataclass(frozen=True)
class Activity:
    """One thing the prospect did. `count` > 1 for aggregates such as "14 page views"."""
    kind: str                 # form_submission | page_view | email_open | email_click | meeting_booked | chat
    occurred_at: datetime
    label: str = ""           # form name, URL, email name: shown to the rep
    count: int = 1
    source: str = "hubspot"   # where Handoff learned it: hubspot | workflow | analytics


# A NamedTuple made from a tuple of its fields, in C (its own __new__ is Python code): for the types made once a
# row or a contact on the backtest's path, make_tuple(ContactRow, (row, contact, outcome)).
make_tuple = tuple.__new__


class FileActivity(NamedTuple):
    """An Activity as the backtest reads it from a file: the same fields, read by name the same way (the
    scorer, the evidence words), but a tuple, made 5x faster than the frozen dataclass."""
    kind: str
    occurred_at: datetime
    label: str = ""
    count: int = 1
    source: str = "hubspot"


class ActivityColumns(Sequence[FileActivity]):
    """A contact's activities field by field, a list per field, as the backtest reads them from its activity
    file: a block of rows is read a column at a time, in C, and the scorer sums the columns (leaves.py)
    without making an object per activity. Read by index or in order, it gives FileActivity tuples, made
    then. Every activity a backtest reads comes from HubSpot (source "hubspot")."""
    __slots__ = ("kinds", "moments", "labels", "counts")

    def __init__(self, kinds: list[str], moments: list[datetime], labels: list[str], counts: list[int]):
        self.kinds, self.moments, self.labels, self.counts = kinds, moments, labels, counts

    @classmethod
    def of(cls, activities: Iterable[Activity | FileActivity] = ()) -> "ActivityColumns":
        columns = cls([], [], [], [])
        columns.extend(activities)
        return columns

    def part(self, start: int, end: int) -> "ActivityColumns":
        return ActivityColumns(self.kinds[start:end], self.moments[start:end], self.labels[start:end],
                               self.counts[start:end])

    def __len__(self) -> int:
        return len(self.kinds)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ActivityColumns(self.kinds[index], self.moments[index], self.labels[index], self.counts[index])
        return FileActivity(self.kinds[index], self.moments[index], self.labels[index], self.counts[index])

    def __iter__(self) -> Iterator[FileActivity]:
        return map(FileActivity, self.kinds, self.moments, self.labels, self.counts)

    def __repr__(self) -> str:
        return f"ActivityColumns({list(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActivityColumns) and list(self) == list(other)

    def append(self, activity: Activity | FileActivity) -> None:
        self.kinds.append(activity.kind)
        self.moments.append(activity.occurred_at)
        self.labels.append(activity.label)
        self.counts.append(activity.count)

    def extend(self, activities: Iterable[Activity | FileActivity]) -> None:
        if isinstance(activities, ActivityColumns):
            self.kinds += activities.kinds
            self.moments += activities.moments
            self.labels += activities.labels
            self.counts += activities.counts
        else:
            for activity in activities:
                self.append(activity)


@dataclass(frozen=True)
class Reason:
    """Why points were given: one rule that fired, with its evidence for a human."""
    rule: str                 # the rule's label from scoring.yaml
    axis: str                 # fit | engagement
    points: float
    evidence: str             # "Requested a demo 2 min ago"
    base_points: float | None = None   # the rule's points before decay, when decay took some off


@dataclass(frozen=True)
class Score:
    contact_id: str
    total: float
    fit: float
    engagement: float
    is_mql: bool
    high_intent: bool          # a fast-lane rule fired (demo request): alert at once, short SLA
    reasons: tuple[Reason, ...]
    gates_failed: tuple[str, ...]   # labels of MQL gates not met (empty when is_mql)
    last_engaged_at: datetime | None
    summary: str               # "Requested a demo 2 min ago · 14 page views, last 2 min ago · VP at a 250-person software company"
    computed_at: datetime
    grade: str = ""            # fit A/B/C x engagement 1/2/3 ("A1"), when scoring.yaml has grades


@dataclass(frozen=True)
class Route:
    """Who a lead goes to and why (shown on the card)."""
    owner_id: str | None       # HubSpot owner id, None when nobody could be chosen
    why: str


# --- small parsers every layer needs -------------------------------------------------------

def parse_hubspot_time(value: str | None) -> datetime | None:
    """HubSpot datetimes come as ISO-8601 ("2024-01-17T19:55:04.281Z") or epoch ms ("1572480000000")."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


_RANGE = re.compile(r"(-?\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?)|(\+))?")


def parse_range(value: str | None) -> tuple[float, float] | None:
    """A number or a HubSpot range ("51-200", "1000+", "1,001-5,000") as (low, high)."""
    if value in (None, ""):
        return None
    match = _RANGE.fullmatch(str(value).replace(",", "").replace(" ", ""))
    if not match:
        return None
    low = float(match.group(1))
    if match.group(3):
        return low, float("inf")
    return low, float(match.group(2)) if match.group(2) else low


def to_utc_iso(moment: datetime) -> str:
    """The form HubSpot accepts for datetime properties: 2024-01-17T19:55:04.281Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"
