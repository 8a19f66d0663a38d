"""PURE: a `when:` compiled once into a plain function, and what it reads from one contact (the scorer's hot path)."""
from __future__ import annotations

import operator
import re
from datetime import datetime, timedelta
from fnmatch import translate
from typing import Any, Callable, NamedTuple, Sequence, TypeVar

from bot.activities import hubspot_time
from bot.models import COMPANY_PREFIX, Activity, Contact, parse_range
from bot.rules.conditions import (EMPLOYEES, ActivityCondition, AllCondition, Condition, PropertyCondition,
                                  properties_used)

CONTACT_EMPLOYEES, COMPANY_EMPLOYEES = "numemployees", COMPANY_PREFIX + "numberofemployees"
_MISSING = object()
MEMO_SIZE = 4096    # distinct values remembered per test before starting afresh
# Distinct combinations of values remembered for a config's value-only conditions (title x size x
# industry…): about 300 bytes each, so at most ~5 MB, however many contacts are scored.
COMBINATIONS_KEPT = 16_384


class Seen(NamedTuple):
    """One thing that made a condition hold: a property value, or matched activities. (A tuple: one is
    made for every rule that fires, and a tuple is made 3x faster than a frozen dataclass.)"""
    name: str                       # property name, or activity kind
    value: str | None = None        # the property's value as read
    count: int = 0                  # matched activities, summing Activity.count
    last: datetime | None = None    # newest matched activity
    counted: bool = False           # the condition counts (at_least): say how many
    matched: tuple[Activity, ...] = ()


Evidence = tuple[Seen, ...]


def read_property(contact: Contact, name: str) -> str | None:
    """A property as rules name it; `employees` is the contact's range, else the company's headcount."""
    if name == EMPLOYEES:
        return contact.get(CONTACT_EMPLOYEES) or contact.get(COMPANY_EMPLOYEES)
    return contact.get(name)


def names_read(name: str) -> tuple[str, ...]:
    """The properties read_property reads for a property as rules name it: both headcounts for `employees`."""
    return (CONTACT_EMPLOYEES, COMPANY_EMPLOYEES) if name == EMPLOYEES else (name,)


class Facts:
    """One contact as compiled conditions read it: activities by kind and window, properties read once each."""
    __slots__ = ("contact", "now", "by_kind", "windowed", "_values")

    def __init__(self, contact: Contact, activities: Sequence[Activity], now: datetime):
        self.contact, self.now = contact, now
        self.by_kind: dict[str, list[Activity]] = {}
        for activity in activities:
            self.by_kind.setdefault(activity.kind, []).append(activity)
        self.windowed: dict[tuple[str, timedelta | None], list[Activity]] = {}    # what recent() found
        self._values: dict[str, str | None] = {}

    def value(self, name: str) -> str | None:
        value = self._values.get(name, _MISSING)
        if value is _MISSING:
            value = self._values[name] = read_property(self.contact, name)
        return value

    def recent(self, kind: str, window: timedelta | None) -> list[Activity]:
        """The kind's activities within the window (all of them without one), in the order given."""
        found = self.windowed.get((kind, window))
        if found is None:
            found = self.by_kind.get(kind, [])
            if window is not None and found:
                since = self.now - window
                found = [activity for activity in found if activity.occurred_at >= since]
            self.windowed[(kind, window)] = found
        return found


class Memo(dict):
    """judge(key), remembered: titles, form names and shapes of activities repeat from contact to contact.
    Read as memo[key]: a hit is a plain dict lookup (no Python call); a miss judges and keeps it, up to
    `size` keys before starting afresh."""

    def __init__(self, judge: Callable[[Any], Any], size: int = MEMO_SIZE):
        super().__init__()
        self._judge, self._size = judge, size

    def __missing__(self, key):
        if len(self) >= self._size:
            self.clear()
        verdict = self[key] = self._judge(key)
        return verdict


Compiled = Callable[[Facts], "Evidence | None"]
Judged = tuple["Evidence | None", ...]
T = TypeVar("T")


def _values_key(names: set[str]) -> Callable[[Contact], tuple]:
    """A contact's raw values of everything read_property reads for `names` (both headcounts for
    `employees`), straight from its and its company's properties: equal keys, equal values read."""
    own, company = set(), set()
    for read in {read for name in names for read in names_read(name)}:
        if read.startswith(COMPANY_PREFIX):
            company.add(read[len(COMPANY_PREFIX):])
        else:
            own.add(read)
    own_names, company_names = tuple(sorted(own)), tuple(sorted(company))

    no_company = (None,) * len(company_names)

    def key(contact: Contact) -> tuple:
        if contact.company is None:
            return tuple(map(contact.properties.get, own_names)) + no_company
        return tuple(map(contact.properties.get, own_names)) + tuple(map(contact.company.properties.get, company_names))
    return key


def remember_by_values(conditions: Sequence[Condition],
                       then: Callable[[Judged], T]) -> Callable[[Contact, datetime], T]:
    """Conditions that read property values only (see conditions.reads_values_only), judged together
    and remembered by the values they read: one lookup per contact instead of a test per condition,
    because titles, sizes and industries repeat (50,000 sample contacts hold 3,867 combinations).
    What is remembered is `then` of their verdicts (each condition's evidence, or None), worked out on a
    first sight of those values."""
    tests = tuple(map(compile_condition, conditions))
    key = _values_key(set().union(*map(properties_used, conditions)))
    known: dict[tuple, T] = {}

    def judged(contact: Contact, now: datetime) -> T:
        values = key(contact)
        found = known.get(values)
        if found is None:
            if len(known) >= COMBINATIONS_KEPT:
                known.clear()
            facts = Facts(contact, (), now)      # value-only: no activity is read, and `now` is not either
            found = known[values] = then(tuple([test(facts) for test in tests]))
        return found
    return judged


def compile_condition(condition: Condition) -> Compiled:
    """A function giving what made the condition hold (its evidence) for a contact's Facts, or None."""
    if isinstance(condition, PropertyCondition):
        return _compile_property(condition)
    if isinstance(condition, ActivityCondition):
        return _compile_activity(condition)
    children = tuple(map(compile_condition, condition.conditions))
    return _all_of(children) if isinstance(condition, AllCondition) else _any_of(children)


def _all_of(children: tuple[Compiled, ...]) -> Compiled:
    def evidence(facts: Facts) -> Evidence | None:
        found: list[Seen] = []
        for child in children:
            seen = child(facts)
            if seen is None:
                return None
            found += seen
        return tuple(found)
    return evidence


def _any_of(children: tuple[Compiled, ...]) -> Compiled:
    def evidence(facts: Facts) -> Evidence | None:
        for child in children:
            seen = child(facts)
            if seen is not None:
                return seen
        return None
    return evidence


# --- activities ----------------------------------------------------------------------------------

def _compile_activity(condition: ActivityCondition) -> Compiled:
    kind, window, least, counted = condition.kind, condition.within, condition.at_least or 1, \
        condition.at_least is not None
    glob = label_glob(condition.glob) if condition.glob is not None else None
    key = (kind, window)

    def evidence(facts: Facts) -> Evidence | None:
        if kind not in facts.by_kind:    # most contacts did few kinds of thing: the quick no
            return None
        matched = facts.windowed.get(key)    # several rules read the same kind and window: filtered once
        if matched is None:
            matched = facts.recent(kind, window)
        if glob is not None and matched:
            matched = [activity for activity in matched if glob[activity.label]]
        if not matched:
            return None
        total = sum([activity.count for activity in matched])
        if total < least:
            return None
        return (Seen(kind, None, total, max([activity.occurred_at for activity in matched]), counted,
                     tuple(matched)),)
    return evidence


def label_glob(pattern: str) -> Memo:
    """glob_matcher(pattern), remembered by label."""
    return Memo(glob_matcher(pattern))


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """fnmatchcase(label.casefold(), pattern.casefold()): that is re.match on translate(), compiled once."""
    match = re.compile(translate(pattern.casefold())).match
    return lambda label: match(label.casefold()) is not None


# --- properties ----------------------------------------------------------------------------------

def _compile_property(condition: PropertyCondition) -> Compiled:
    name, exists, window = condition.name, condition.exists, condition.within
    tests = tuple(_TESTS[key](expected) for key, expected in condition.written_tests.items()
                  if key not in ("exists", "within"))
    passes = Memo(lambda value: all(test(value) for test in tests))

    def evidence(facts: Facts) -> Evidence | None:
        value = facts.value(name)
        if exists is not None and (value is not None) != exists:
            return None
        if value is None:
            return (Seen(name, None),) if exists is False else None
        if not passes[value] or (window is not None and not _recent(value, facts.now, window)):
            return None
        return (Seen(name, value),)
    return evidence


def _recent(value: str, now: datetime, window: timedelta) -> bool:
    moment = hubspot_time(value)
    return moment is not None and moment >= now - window


def _same_as(expected: str) -> Callable[[str], bool]:
    """Equal as a number when the value is one number, else as text without case or outer spaces."""
    bounds, text = parse_range(expected), expected.strip().casefold()

    def same(value: str) -> bool:
        number = parse_range(value)
        if number is not None and bounds is not None and number[0] == number[1]:
            return number == bounds
        return value.strip().casefold() == text
    return same


def _one_of(expected: tuple[str, ...]) -> Callable[[str], bool]:
    options = tuple(map(_same_as, expected))
    return lambda value: any(same(value) for same in options)


def _contains(expected: str) -> Callable[[str], bool]:
    part = expected.casefold()
    return lambda value: part in value.casefold()


def _matches(pattern: re.Pattern) -> Callable[[str], bool]:
    return lambda value: pattern.search(value) is not None


# A range passes gt/gte only when all of it is above the bound, lt/lte when all of it is below.
def _bound(index: int, passes: Callable[[float, float], bool]) -> Callable[[float], Callable[[str], bool]]:
    def compiled(limit: float) -> Callable[[str], bool]:
        def test(value: str) -> bool:
            bounds = parse_range(value)
            return bounds is not None and passes(bounds[index], limit)
        return test
    return compiled


# Each key's test, made from what was written; `exists` and `within` are checked in _compile_property.
_TESTS: dict[str, Callable[[object], Callable[[str], bool]]] = {
    "equals": _same_as, "one_of": _one_of, "contains": _contains, "matches": _matches,
    "gt": _bound(0, operator.gt), "gte": _bound(0, operator.ge),
    "lt": _bound(1, operator.lt), "lte": _bound(1, operator.le),
}
