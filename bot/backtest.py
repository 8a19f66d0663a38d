"""`python -m bot backtest`: score a HubSpot contacts export with scoring.yaml and report what it would do.

Contacts stream one at a time and every figure is a running count (by whole score point, by rule,
by outcome), so memory stays flat however large the export. Only an unsorted activity file is held
in memory (see ActivityFeed).
"""
from __future__ import annotations

import argparse
import heapq
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Sequence, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from bot.activities import FIRST_CONVERSION, PAGE_VIEWS, RECENT_CONVERSION, TRAIL_PROPERTIES, activities_from_contact
from bot.png import Canvas
from bot.csv_export import (CONTACT_LABELS, ActivityFeed, ContactExport, ExportError, NotSorted, SkipLog, Skipped,
                            parse_export_time)
from bot.models import COMPANY_PREFIX, Activity, ActivityColumns, Contact, Score, make_tuple
from bot.rules import ConfigError, ScoringRules, load_config
from bot.rules.compiled import Memo
from bot.rules.conditions import EMPLOYEES, properties_used
from bot.rules.durations import window_words
from bot.rules.grades import ENGAGEMENT_GRADES, FIT_GRADES
from bot.scoring import Verdict, mql_rule, properties_scored, verdict_for
from bot.settings import Settings, SettingsError

# Outcome values that count as converted (compared without case, "_" or "-"); any other non-blank
# value counts as not converted, and a blank one as not known yet (left out of every rate).
CONVERTED = frozenset({"sql", "sales qualified lead", "salesqualifiedlead", "opportunity", "customer",
                       "evangelist", "open deal", "won", "closed won", "closedwon", "converted", "yes", "true", "1"})
BAND_WIDTHS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000)
MAX_BANDS = 16
BAR_WIDTH = 40
TOP_REASONS = 10
FEW = 30                     # fewer contacts with a known outcome than this: a rate to read with care
EXAMPLES = 8                 # contacts shown per kind of change in --compare
OUTCOME_VALUES_SHOWN = 12
PROGRESS_EVERY = 1024        # rows between progress checks: a clock read per row would cost more
PROGRESS_FROM_BYTES = 1_000_000   # smaller exports are scored in well under a second: no bar
OUTCOMES_KEPT = 1024         # distinct outcome values whose reading is remembered (they repeat: SQL, Customer…)
# The record's properties from which activities_from_contact can make an activity of each kind (the
# other trail properties only name or date it): a kind whose properties are all blank gives nothing.
TRAIL_SOURCES = {"form_submission": (RECENT_CONVERSION[0], FIRST_CONVERSION[0]), "page_view": (PAGE_VIEWS,),
                 "email_open": ("hs_email_last_open_date",), "email_click": ("hs_email_last_click_date",),
                 "meeting_booked": ("engagements_last_meeting_booked",)}


# --- outcomes ----------------------------------------------------------------------------------

@lru_cache(maxsize=OUTCOMES_KEPT)
def outcome_converted(value: str | None) -> bool | None:
    """True for SQL/Opportunity/Customer/…, False for any other value (Disqualified…), None when blank."""
    if value is None or not value.strip():
        return None
    text = " ".join(value.replace("_", " ").replace("-", " ").split()).casefold()
    return text in CONVERTED or text.split(":")[0].strip() in CONVERTED


# --- running counts ------------------------------------------------------------------------------

@dataclass
class Rate:
    """Converted out of known outcomes."""
    known: int = 0
    converted: int = 0

    def add(self, converted: bool | None, contacts: int = 1) -> None:
        if converted is not None:
            self.known += contacts
            self.converted += converted * contacts

    def share(self) -> float | None:
        return self.converted / self.known if self.known else None


class _Profile(NamedTuple):
    """What the report counts about one scored contact. Contacts share profiles, so the backtest counts
    each profile once per contact (one Counter step) and works every figure out from those counts at the
    end: their number is bounded by the config (scores, rule combinations), not by the export's size."""
    point: int                      # the score's whole point
    grade: str
    is_mql: bool
    high_intent: bool
    held_back: bool                 # passes the MQL rule but a gate or the recency rule holds it back
    rules_fired: tuple[str, ...]
    gates_failed: tuple[str, ...]
    has_outcome: bool
    converted: bool | None


@dataclass
class Figures:
    """Everything the report shows about one config's scores, counted from a Tally's profiles."""
    mqls: int = 0
    high_intent: int = 0
    held_back: int = 0
    by_point: Counter = field(default_factory=Counter)          # whole score point -> contacts
    eligible: Counter = field(default_factory=Counter)          # (point, grade in mql_grades) -> contacts
    point_rates: dict = field(default_factory=dict)             # whole point -> Rate (all contacts)
    eligible_rates: dict = field(default_factory=dict)          # (point, grade in mql_grades) -> Rate
    by_grade: Counter = field(default_factory=Counter)
    grade_mqls: Counter = field(default_factory=Counter)
    grade_rates: dict = field(default_factory=dict)
    mql_reasons: Counter = field(default_factory=Counter)
    gates_holding_back: Counter = field(default_factory=Counter)
    fired: dict = field(default_factory=dict)                   # rule label -> Rate where it fired
    fired_count: Counter = field(default_factory=Counter)
    overall: Rate = field(default_factory=Rate)
    mql_rate: Rate = field(default_factory=Rate)
    other_rate: Rate = field(default_factory=Rate)

    def add(self, profile: _Profile, contacts: int, mql_grades: frozenset[str]) -> None:
        point, converted = profile.point, profile.converted
        self.by_point[point] += contacts
        if profile.has_outcome:
            self.overall.add(converted, contacts)
            _rate_at(self.point_rates, point).add(converted, contacts)
            (self.mql_rate if profile.is_mql else self.other_rate).add(converted, contacts)
        if not profile.gates_failed:
            key = (point, profile.grade in mql_grades)
            self.eligible[key] += contacts
            _rate_at(self.eligible_rates, key).add(converted, contacts)
        if profile.grade:
            self.by_grade[profile.grade] += contacts
            self.grade_mqls[profile.grade] += profile.is_mql * contacts
            _rate_at(self.grade_rates, profile.grade).add(converted, contacts)
        for label in profile.rules_fired:
            self.fired_count[label] += contacts
            _rate_at(self.fired, label).add(converted, contacts)
        if profile.is_mql:
            self.mqls += contacts
            self.high_intent += profile.high_intent * contacts
            for label in profile.rules_fired:
                self.mql_reasons[label] += contacts
        elif profile.held_back:
            self.held_back += contacts
            for label in profile.gates_failed:
                self.gates_holding_back[label] += contacts


def _figure(name: str) -> property:
    return property(lambda tally: getattr(tally.figures, name), doc=f"Figures.{name}, as counted so far")


@dataclass
class Tally:
    """One config's scores as counts: of each profile, of outcome values (the first few), and the latest
    engagement. `figures` (and each of its fields, read on the Tally) works the report's figures out."""
    rules: ScoringRules
    scored: int = 0
    profiles: Counter = field(default_factory=Counter)          # _Profile -> contacts
    outcome_values: Counter = field(default_factory=Counter)
    last_engaged: datetime | None = None

    def __post_init__(self) -> None:
        passes = mql_rule(self.rules)
        # (total, grade) -> whether they pass the MQL rule: totals and grades repeat, a lookup is a C call
        self._passes = Memo(lambda total_and_grade: passes(*total_and_grade))

    def add(self, score: Score, outcome: str | None, converted: bool | None) -> None:
        self.add_verdict(Verdict.of(score), outcome, converted)

    def add_verdict(self, verdict: Verdict, outcome: str | None, converted: bool | None) -> None:
        """Count one scored contact (the backtest's path: a Verdict, no Score made)."""
        _, total, is_mql, high_intent, fired, failed, last, grade = verdict
        self.scored += 1
        held_back = not is_mql and self._passes[total, grade]
        self.profiles[make_tuple(_Profile, (math.floor(total), grade, is_mql, high_intent, held_back, fired, failed,
                                             outcome is not None, converted))] += 1
        if outcome is not None and (outcome in self.outcome_values or len(self.outcome_values) < OUTCOME_VALUES_SHOWN):
            self.outcome_values[outcome] += 1
        if last and (self.last_engaged is None or last > self.last_engaged):
            self.last_engaged = last

    @property
    def figures(self) -> Figures:
        """The report's figures from the profiles counted so far (worked out again once more are counted)."""
        counted = self.__dict__.get("_figures")
        if counted is None or counted[0] != self.scored:
            figures, mql_grades = Figures(), frozenset(self.rules.mql_grades or ())
            for profile, contacts in self.profiles.items():
                figures.add(profile, contacts, mql_grades)
            counted = self.__dict__["_figures"] = (self.scored, figures)
        return counted[1]

    mqls, high_intent, held_back = _figure("mqls"), _figure("high_intent"), _figure("held_back")
    by_point, eligible, point_rates = _figure("by_point"), _figure("eligible"), _figure("point_rates")
    eligible_rates, by_grade, grade_mqls = _figure("eligible_rates"), _figure("by_grade"), _figure("grade_mqls")
    grade_rates, mql_reasons = _figure("grade_rates"), _figure("mql_reasons")
    gates_holding_back, fired, fired_count = _figure("gates_holding_back"), _figure("fired"), _figure("fired_count")
    overall, mql_rate, other_rate = _figure("overall"), _figure("mql_rate"), _figure("other_rate")


def _rate_at(rates: dict, key) -> Rate:
    rate = rates.get(key)
    if rate is None:
        rate = rates[key] = Rate()
    return rate


@dataclass(order=True)
class Change:
    """One contact scored with both configs (ordered by how much its score moved)."""
    size: float
    contact_id: str = field(compare=False)
    before: float = field(compare=False)
    after: float = field(compare=False)
    gained: tuple[str, ...] = field(compare=False)      # rules that fire now and did not
    lost: tuple[str, ...] = field(compare=False)
    freed: tuple[str, ...] = field(compare=False)       # gates that held the contact back and no longer do
    blocked: tuple[str, ...] = field(compare=False)


@dataclass
class Changes:
    """What a second config changes, contact by contact, kept as counts and the biggest examples."""
    newly: int = 0
    dropped: int = 0
    up: int = 0
    down: int = 0
    moved_total: float = 0.0
    newly_rate: Rate = field(default_factory=Rate)
    dropped_rate: Rate = field(default_factory=Rate)
    gained: Counter = field(default_factory=Counter)
    lost: Counter = field(default_factory=Counter)
    freed: Counter = field(default_factory=Counter)
    blocked: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=lambda: {"newly MQL": [], "no longer MQL": [], "score changed": []})

    def add(self, before: Verdict, after: Verdict, converted: bool | None) -> None:
        """One contact scored with both configs (Verdicts, or Scores through Verdict.of)."""
        delta = after.total - before.total
        self.moved_total += delta
        self.up += delta > 0
        self.down += delta < 0
        kind = self._mql_change(before, after, converted)
        gained, lost = _differences(set(before.rules_fired), set(after.rules_fired))
        blocked, freed = _differences(set(before.gates_failed), set(after.gates_failed))
        for counter, labels in ((self.gained, gained), (self.lost, lost), (self.freed, freed),
                                (self.blocked, blocked)):
            counter.update(labels)
        if kind is None and delta == 0:
            return
        _keep_biggest(self.examples[kind or "score changed"],
                      Change(abs(delta), before.contact_id, before.total, after.total, gained, lost, freed, blocked))

    def _mql_change(self, before: Verdict, after: Verdict, converted: bool | None) -> str | None:
        if after.is_mql and not before.is_mql:
            self.newly += 1
            self.newly_rate.add(converted)
            return "newly MQL"
        if before.is_mql and not after.is_mql:
            self.dropped += 1
            self.dropped_rate.add(converted)
            return "no longer MQL"
        return None


def _differences(before: set[str], after: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(only after, only before), sorted."""
    return tuple(sorted(after - before)), tuple(sorted(before - after))


def _keep_biggest(kept: list[Change], change: Change) -> None:
    """The EXAMPLES biggest changes seen so far, as a min-heap."""
    if len(kept) < EXAMPLES:
        heapq.heappush(kept, change)
    elif change.size > kept[0].size:
        heapq.heapreplace(kept, change)


# --- the run -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Inputs:
    """What to score, with what, as of when; `other` is the config of --compare."""
    contacts: Path
    rules: ScoringRules
    now: datetime
    config_name: str = "config"
    activities: Path | None = None
    outcome: str | None = None
    other: ScoringRules | None = None
    other_name: str = ""
    zone: tzinfo = timezone.utc
    delimiter: str | None = None


@dataclass
class Backtest:
    """A finished run: the counts for the report, and what was read, skipped or left unused."""
    inputs: Inputs
    tally: Tally
    other: Tally | None = None
    changes: Changes | None = None
    skips: SkipLog = field(default_factory=SkipLog)
    rows: int = 0
    feed: ActivityFeed | None = None
    ignored_columns: list[str] = field(default_factory=list)
    missing_properties: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    has_trail: bool = False


def run_backtest(inputs: Inputs, progress: "Progress | None" = None) -> Backtest:
    """Score every readable row of the export (with both configs when comparing); bad rows are counted.

    The activity file is streamed in step with the contacts; when either file turns out not to be
    sorted by contact id, the run starts again with the activities held in memory.
    """
    try:
        return _run(inputs, progress, hold_in_memory=None)
    except NotSorted as unsorted:
        return _run(inputs, progress, hold_in_memory=str(unsorted))
    finally:
        if progress:
            progress.close()


def _run(inputs: Inputs, progress: "Progress | None", hold_in_memory: str | None) -> Backtest:
    scored = properties_scored(inputs.rules) | (properties_scored(inputs.other) if inputs.other else set())
    export, feed = ContactExport(inputs.contacts, inputs.outcome, inputs.zone, inputs.delimiter, scored), None
    try:
        if inputs.activities:
            feed = ActivityFeed(inputs.activities, inputs.zone, inputs.delimiter, hold_in_memory)
        result = _start(inputs, export, feed)
        _score_rows(result, export, feed, progress)
        if feed:
            feed.finish()
        return result
    finally:
        export.close()
        if feed:
            feed.close()


def _start(inputs: Inputs, export: ContactExport, feed: ActivityFeed | None) -> Backtest:
    comparing = inputs.other is not None
    ignored = [name for name in export.ignored if name != export.outcome_header]
    return Backtest(inputs, Tally(inputs.rules), Tally(inputs.other) if comparing else None,
                    Changes() if comparing else None, feed=feed, ignored_columns=ignored,
                    missing_properties=missing_properties(inputs.rules, export.properties),
                    notes=export.file.notes + (feed.notes if feed else []),
                    has_trail=bool(export.properties & set(TRAIL_PROPERTIES)))


def _score_rows(result: Backtest, export: ContactExport, feed: ActivityFeed | None,
                progress: "Progress | None") -> None:
    inputs, tally, other, changes = result.inputs, result.tally, result.other, result.changes
    rules, now, count = inputs.rules, inputs.now, tally.add_verdict
    from_file = feed.for_contact if feed else _no_activities
    for number, item in enumerate(export, start=result.rows + 1):     # methods bound once: a call a row each
        result.rows = number
        if progress and number % PROGRESS_EVERY == 1:
            progress.update(number, export.file.bytes_read())
        if item.__class__ is Skipped:
            result.skips.add(item)
            continue
        _, contact, outcome = item
        converted = outcome_converted(outcome)
        activities = contact_activities(contact, from_file(contact.id))
        verdict = verdict_for(contact, activities, rules, now)
        count(verdict, outcome, converted)
        if other is not None:
            second = verdict_for(contact, activities, inputs.other, now)
            other.add_verdict(second, outcome, converted)
            changes.add(verdict, second, converted)


def _no_activities(contact_id: str) -> list[Activity]:
    return []


def contact_activities(contact: Contact, from_file: Sequence[Activity]) -> Sequence[Activity]:
    """combine_activities(activities_from_contact(contact), from_file), reading from the record only the kinds
    it can add: those the file lists none of, and whose properties are not all blank."""
    if not from_file:
        return activities_from_contact(contact)
    values, (names, by_kind) = contact.properties.get, _trail_of(_kinds_in(from_file))
    if not any(map(values, names)):      # (most contacts: one call, in C)
        return from_file
    adding = [kind for kind, names in by_kind if any(map(values, names))]
    return combine_activities(activities_from_contact(contact, adding), from_file)


def _kinds_in(activities: Sequence[Activity]) -> frozenset[str]:
    return frozenset(activities.kinds if activities.__class__ is ActivityColumns else map(_KIND, activities))


_KIND = attrgetter("kind")


@lru_cache(maxsize=None)     # one entry per set of kinds: at most 2 ** len(ACTIVITY_KINDS)
def _trail_of(kinds: frozenset[str]) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    """The record's properties that could add a kind the file's `kinds` lack: all of them, and by kind."""
    by_kind = tuple((kind, names) for kind, names in TRAIL_SOURCES.items() if kind not in kinds)
    return tuple(name for _, names in by_kind for name in names), by_kind


def combine_activities(from_record: list[Activity], from_file: Sequence[Activity]) -> list[Activity]:
    """The file's activities, plus the contact record's trail for the kinds the file has none of.

    The record only summarises (a last open date, a page-view count): where the file lists the same
    kind one by one, adding the summary would count those activities twice.
    """
    if not from_file:
        return from_record
    kinds = _kinds_in(from_file)
    # The backtest's file activities stay columns, which the scorer sums (leaves.py) as they are.
    combined = ActivityColumns.of(from_file) if from_file.__class__ is ActivityColumns else list(from_file)
    combined.extend(activity for activity in from_record if activity.kind not in kinds)
    return combined


def missing_properties(rules: ScoringRules, present: set[str]) -> list[str]:
    """Properties the rules read that the export has no column for (rules on them can never hold)."""
    used = set().union(*(properties_used(rule.when) for rule in (*rules.fit, *rules.engagement, *rules.gates)))
    missing = {name for name in used if name != EMPLOYEES and name not in present}
    if EMPLOYEES in used and not present & {"numemployees", COMPANY_PREFIX + "numberofemployees"}:
        missing.add("numemployees")
    return sorted(missing)


# --- bands ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Band:
    start: int
    width: int
    count: int

    @property
    def words(self) -> str:
        return str(self.start) if self.width == 1 else f"{self.start} to {self.start + self.width - 1}"


def score_bands(by_point: Counter) -> list[Band]:
    """Contacts per score band: a round width giving at most MAX_BANDS bands, empty bands included."""
    if not by_point:
        return []
    low, high = min(by_point), max(by_point)
    width = next((w for w in BAND_WIDTHS if high // w - low // w < MAX_BANDS), BAND_WIDTHS[-1])
    counts = Counter()
    for point, count in by_point.items():
        counts[point // width] += count
    return [Band(i * width, width, counts[i]) for i in range(low // width, high // width + 1)]


def _would_qualify(rules: ScoringRules, threshold: int) -> Callable[[tuple[int, bool]], bool]:
    """Whether a (whole point, grade in mql_grades) key passes the MQL rule with this threshold."""
    return {"threshold": lambda key: key[0] >= threshold, "grades": lambda key: key[1],
            "both": lambda key: key[1] and key[0] >= threshold,
            "either": lambda key: key[1] or key[0] >= threshold}[rules.rule]


def threshold_sweep(tally: Tally) -> list[tuple[int, int, Rate]]:
    """(threshold, MQLs, their outcomes) for each threshold worth trying, all else as configured."""
    return [(threshold, *_sweep_row(tally, threshold))
            for threshold in sweep_thresholds(score_bands(tally.by_point), tally.rules.mql_threshold)]


def _sweep_row(tally: Tally, threshold: int) -> tuple[int, Rate]:
    passes, total = _would_qualify(tally.rules, threshold), Rate()
    for key, rate in tally.eligible_rates.items():
        if passes(key):
            total.known += rate.known
            total.converted += rate.converted
    return sum(count for key, count in tally.eligible.items() if passes(key)), total


def _rate_in(rates: dict, band: Band) -> Rate:
    total = Rate()
    for at in range(band.start, band.start + band.width):
        if at in rates:
            total.known += rates[at].known
            total.converted += rates[at].converted
    return total


def sweep_thresholds(bands: list[Band], current: float) -> list[int]:
    """Thresholds worth trying: every positive band start, and the configured threshold."""
    return sorted({band.start for band in bands if band.start > 0} | {math.ceil(current)})


# --- the report ----------------------------------------------------------------------------------

def _n(number: int) -> str:
    return f"{number:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _rate_words(rate: Rate) -> str:
    return f"{_pct(rate.converted, rate.known)} of {_n(rate.known)}"


def render_report(result: Backtest) -> str:
    """The whole terminal report: scale, MQLs, reasons, distribution, outcomes, comparison."""
    sections = [_header(result), _input_notes(result), _mql_section(result.tally), _distribution(result.tally),
                _grade_matrix(result)]
    if result.inputs.outcome:
        sections += [_outcomes(result), _bands_by_conversion(result.tally), _lift(result.tally),
                     _sweep(result.tally)]
    if result.changes is not None:
        sections.append(_comparison(result))
    return "\n\n".join(filter(None, sections)) + "\n"


def _header(result: Backtest) -> str:
    inputs = result.inputs
    lines = [f"Backtest of {inputs.contacts} with {inputs.config_name}, as of "
             f"{inputs.now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"  {_n(result.rows)} rows read · {_n(result.tally.scored)} contacts scored · "
             f"{_n(result.skips.count)} rows skipped"]
    lines += [f"    {skipped}" for skipped in result.skips.examples]
    if result.skips.count > len(result.skips.examples):
        lines.append(f"    … and {_n(result.skips.count - len(result.skips.examples))} more")
    if result.feed:
        lines += _feed_lines(result.feed)
    return "\n".join(lines)


def _feed_lines(feed: ActivityFeed) -> list[str]:
    lines = [f"  activities: {feed.path}, {_n(feed.rows)} rows, {feed.held}: {_n(feed.matched)} matched a contact, "
             f"{_n(feed.unmatched)} matched none, {_n(feed.skips.count)} skipped"]
    lines += [f"    {skipped}" for skipped in feed.skips.examples]
    if feed.skips.count > len(feed.skips.examples):
        lines.append(f"    … and {_n(feed.skips.count - len(feed.skips.examples))} more")
    return lines


def _input_notes(result: Backtest) -> str:
    lines = [f"Note: {note}" for note in result.notes]
    if result.missing_properties:
        lines.append("Note: the rules read properties the file has no column for (conditions on them never hold): "
                     + ", ".join(_property_words(name) for name in result.missing_properties))
    if result.ignored_columns:
        lines.append(f"Note: {len(result.ignored_columns)} column(s) not used (unknown label; a column named "
                     f"with a property's internal name is read): " + ", ".join(result.ignored_columns[:12])
                     + (", …" if len(result.ignored_columns) > 12 else ""))
    if not result.feed and not result.has_trail:
        lines.append("Note: no activity columns and no --activities file: engagement rules cannot fire")
    lines += _stale_hint(result)
    return "\n".join(lines)


_LABEL_OF = {name: label for label, name in reversed(CONTACT_LABELS.items())}


def _property_words(name: str) -> str:
    return f"{_LABEL_OF[name]} ({name})" if name in _LABEL_OF else name


def _stale_hint(result: Backtest) -> list[str]:
    """Scoring an old export as of today finds nobody active: say so, and how to score it as of its date."""
    last, rules, now = result.tally.last_engaged, result.inputs.rules, result.inputs.now
    if last is None or last >= now - rules.active_within:
        return []
    return [f"Note: nobody engaged in the {window_words(rules.active_within)} before "
            f"{now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC; the newest activity is from "
            f"{last.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC. To score the export as of its date, "
            f"pass --now {last.astimezone(timezone.utc):%Y-%m-%dT%H:%MZ}"]


def _mql_section(tally: Tally) -> str:
    lines = [f"MQLs: {_n(tally.mqls)} of {_n(tally.scored)} ({_pct(tally.mqls, tally.scored)}) · "
             f"{_n(tally.high_intent)} high intent (fast lane)"]
    if tally.held_back:
        lines.append(f"Met the MQL rule but held back by a gate or recency: {_n(tally.held_back)}")
        lines += [f"  {count:>7,}  {gate}" for gate, count in tally.gates_holding_back.most_common()]
    if tally.mqls:
        lines.append("Top reasons among MQLs")
        width = max((len(rule) for rule, _ in tally.mql_reasons.most_common(TOP_REASONS)), default=0)
        lines += [f"  {rule:<{width}}  {count:>7,}  {_pct(count, tally.mqls):>6}"
                  for rule, count in tally.mql_reasons.most_common(TOP_REASONS)]
    return "\n".join(lines)


def _distribution(tally: Tally) -> str:
    bands = score_bands(tally.by_point)
    if not bands:
        return ""
    threshold, most = tally.rules.mql_threshold, max(band.count for band in bands)
    width = max(len(band.words) for band in bands)
    lines = [f"Score distribution (█ at or above the MQL threshold of {threshold:g} points, ░ below)"]
    for band in bands:
        bar = ("█" if band.start >= threshold else "░") * _bar_length(band.count, most)
        mark = f"  ◀ threshold {threshold:g}" if band.start <= threshold < band.start + band.width else ""
        lines.append(f"  {band.words:>{width}} │{bar:<{BAR_WIDTH}} {band.count:>7,}{mark}")
    return "\n".join(lines)


def _bar_length(count: int, most: int) -> int:
    return max(1, round(BAR_WIDTH * count / most)) if count else 0


def _outcomes(result: Backtest) -> str:
    tally = result.tally
    shown = tally.outcome_values.most_common()
    more = ", and values not listed" if sum(tally.outcome_values.values()) < tally.overall.known else ""
    return "\n".join([
        f"Outcomes ({result.inputs.outcome}): {_n(tally.overall.known)} known, {_n(tally.overall.converted)} "
        f"converted ({_pct(tally.overall.converted, tally.overall.known)}) · "
        f"{_n(tally.scored - tally.overall.known)} blank (not counted)",
        "  counted as converted: " + _values(value for value in shown if outcome_converted(value[0])) + more,
        "  counted as not converted: " + _values(value for value in shown if not outcome_converted(value[0])) + more,
        f"  MQLs converted: {_rate_words(tally.mql_rate)} · the others: {_rate_words(tally.other_rate)}",
    ])


def _values(counted: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{value} {count:,}" for value, count in counted) or "none"


def _bands_by_conversion(tally: Tally) -> str:
    bands = score_bands(tally.by_point)
    width = max([len(band.words) for band in bands] + [4])
    lines = ["Conversion by score band", f"  {'band':>{width}}  contacts    known  converted    rate"]
    for band in bands:
        rate = _rate_in(tally.point_rates, band)
        lines.append(f"  {band.words:>{width}}  {band.count:>8,}  {rate.known:>7,}  {rate.converted:>9,}  "
                     f"{_pct(rate.converted, rate.known):>6}{_few(rate)}")
    return "\n".join(lines + _few_footnote([_rate_in(tally.point_rates, band) for band in bands]))


def _few(rate: Rate) -> str:
    return " *" if 0 < rate.known < FEW else ""


def _few_footnote(rates: Iterable[Rate]) -> list[str]:
    if any(0 < rate.known < FEW for rate in rates):
        return [f"  * fewer than {FEW} known outcomes: read with care"]
    return []


def _lift(tally: Tally) -> str:
    overall = tally.overall.share()
    labels = [rule.label for rule in (*tally.rules.fit, *tally.rules.engagement)]
    width = max(len(label) for label in labels) if labels else 4
    lines = [f"Rule lift (conversion where the rule fired ÷ {_pct(tally.overall.converted, tally.overall.known)}"
             f" overall)", f"  {'rule':<{width}}     fired    known    rate   lift"]
    for label in labels:
        rate = tally.fired.get(label, Rate())
        share = rate.share()
        lift = f"{share / overall:.2f}×" if share is not None and overall else "–"
        lines.append(f"  {label:<{width}}  {tally.fired_count[label]:>8,}  {rate.known:>7,}  "
                     f"{_pct(rate.converted, rate.known):>6}  {lift:>5}{_few(rate)}")
    return "\n".join(lines + _few_footnote(tally.fired.values()))


def _sweep(tally: Tally) -> str:
    if tally.rules.rule == "grades":
        return "Threshold sweep: none, the MQL rule is grade cells only (mql_rule: grades)"
    current = math.ceil(tally.rules.mql_threshold)
    lines = ["Threshold sweep (contacts passing every gate and the recency rule; scores in whole points)",
             "  threshold      MQLs  of all    known  MQL→SQL"]
    for threshold, volume, rate in threshold_sweep(tally):
        mark = "  ◀ current" if threshold == current else ""
        lines.append(f"  {threshold:>9}  {volume:>8,}  {_pct(volume, tally.scored):>6}  {rate.known:>7,}  "
                     f"{_pct(rate.converted, rate.known):>7}{_few(rate)}{mark}")
    return "\n".join(lines)


def _grade_matrix(result: Backtest) -> str:
    """Contacts and MQLs per grade cell (fit A/B/C down, engagement 1/2/3 across), with conversion if known."""
    tally = result.tally
    if not tally.by_grade:
        return ""
    lines = ["Grades (contacts / MQLs" + (" / converted of known" if result.inputs.outcome else "") + ")",
             "       " + "".join(f"{level:>26}" for level in ENGAGEMENT_GRADES)]
    for fit in FIT_GRADES:
        cells = [_grade_cell(tally, fit + level, bool(result.inputs.outcome)) for level in ENGAGEMENT_GRADES]
        lines.append(f"  {fit}    " + "".join(f"{cell:>26}" for cell in cells))
    return "\n".join(lines)


def _grade_cell(tally: Tally, grade: str, outcomes: bool) -> str:
    text = f"{tally.by_grade[grade]:,} / {tally.grade_mqls[grade]:,}"
    if outcomes:
        rate = tally.grade_rates.get(grade, Rate())
        text += f" / {_pct(rate.converted, rate.known)}"
    return text


def _comparison(result: Backtest) -> str:
    changes, before, after = result.changes, result.tally, result.other
    same = before.scored - changes.up - changes.down
    lines = [f"Compared: {result.inputs.other_name} against {result.inputs.config_name}",
             f"  MQLs {_n(before.mqls)} → {_n(after.mqls)} ({after.mqls - before.mqls:+,}) · "
             f"newly MQL {_n(changes.newly)} · no longer MQL {_n(changes.dropped)}",
             f"  scores: {_n(changes.up)} up, {_n(changes.down)} down, {_n(same)} unchanged · mean change "
             f"{changes.moved_total / before.scored if before.scored else 0:+.1f} points"]
    lines += _setting_changes(before.rules, after.rules)
    if result.inputs.outcome:
        lines.append(f"  newly MQL converted: {_rate_words(changes.newly_rate)} · "
                     f"no longer MQL converted: {_rate_words(changes.dropped_rate)}")
    lines += _rule_changes(changes)
    for kind, kept in changes.examples.items():
        if kept:
            lines.append(f"  {kind} (largest score changes first; contact id: points before → after)")
            lines += [_change_words(change) for change in sorted(kept, reverse=True)]
    return "\n".join(lines)


# (Changes/Change field, words): rules that fire for more or fewer contacts, gates that hold back more or fewer.
_CHANGE_WORDS = (("gained", "now fires for {count:,} more: {label}"),
                 ("lost", "no longer fires for {count:,}: {label}"),
                 ("freed", "no longer holds back {count:,}: {label}"),
                 ("blocked", "now holds back {count:,}: {label}"))
_EXAMPLE_WORDS = (("gained", "+ "), ("lost", "− "), ("freed", "passes now: "), ("blocked", "held back now: "))
_SETTINGS = (("mql_threshold", "MQL threshold"), ("mql_rule", "MQL rule"), ("mql_grades", "MQL grade cells"),
             ("active_within", "active within"), ("decay", "decay"))


def _setting_changes(before: ScoringRules, after: ScoringRules) -> list[str]:
    """The file-wide settings that differ (rule changes show in what fires and for whom)."""
    return [f"  {words}: {_setting_words(getattr(before, name))} → {_setting_words(getattr(after, name))}"
            for name, words in _SETTINGS if getattr(before, name) != getattr(after, name)]


def _setting_words(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, timedelta):
        return window_words(value)
    if isinstance(value, tuple):
        return ", ".join(map(_setting_words, value))
    if isinstance(value, BaseModel):
        return ", ".join(f"{key.replace('_', '-')} {_setting_words(getattr(value, key))}"
                         for key in type(value).model_fields if getattr(value, key) is not None)
    return str(value)


def _rule_changes(changes: Changes) -> list[str]:
    return [f"  {words.format(count=count, label=label)}" for name, words in _CHANGE_WORDS
            for label, count in getattr(changes, name).most_common(TOP_REASONS)]


def _change_words(change: Change) -> str:
    moved = "; ".join(prefix + ", ".join(getattr(change, name)) for name, prefix in _EXAMPLE_WORDS
                      if getattr(change, name))
    return f"    {change.contact_id}: {_points(change.before)} → {_points(change.after)}" + \
        (f"  ({moved})" if moved else "")


def _points(value: float) -> str:
    return f"{round(value, 1):g}"


# --- the histogram as a PNG (no plotting library: bot.png's Canvas and PNG writer) ---------------

PNG_SIZE = (720, 360)
_MARGINS = (56, 16, 24, 36)          # left, right, top, bottom
_BACKGROUND, _AXIS, _BELOW, _ABOVE, _LINE = (255, 255, 255), (64, 64, 64), (120, 144, 186), (230, 120, 40), (200, 0, 0)


def histogram_png(bands: list[Band], threshold: float, size: tuple[int, int] = PNG_SIZE) -> bytes:
    """A bar chart of contacts per score band: orange at or above the threshold, with a red line at it."""
    canvas = Canvas(*size, _BACKGROUND)
    left, right, top, bottom = _MARGINS[0], size[0] - _MARGINS[1], _MARGINS[2], size[1] - _MARGINS[3]
    most = max((band.count for band in bands), default=0)
    slot = (right - left) / max(1, len(bands))
    for index, band in enumerate(bands):
        height = round((bottom - top) * band.count / most) if most else 0
        x = left + round(index * slot)
        canvas.fill(x + 1, bottom - height, left + round((index + 1) * slot) - 1, bottom,
                    _ABOVE if band.start >= threshold else _BELOW)
        if index % max(1, math.ceil(len(bands) * 36 / (right - left))) == 0:
            canvas.text(x + 1, bottom + 8, str(band.start), _AXIS)
    _axes(canvas, bands, threshold, most, (left, right, top, bottom), slot)
    return canvas.png()


def _axes(canvas: Canvas, bands: list[Band], threshold: float, most: int, box: tuple, slot: float) -> None:
    left, right, top, bottom = box
    canvas.fill(left - 1, top, left, bottom + 1, _AXIS)
    canvas.fill(left - 1, bottom, right, bottom + 1, _AXIS)
    canvas.text(4, top, str(most), _AXIS)
    canvas.text(4, bottom - 10, "0", _AXIS)
    if bands and bands[0].start <= threshold <= bands[-1].start + bands[-1].width:
        x = left + round((threshold - bands[0].start) / bands[0].width * slot)
        for y in range(top, bottom, 8):
            canvas.fill(x, y, x + 2, y + 4, _LINE)


def write_histogram_png(path: str | Path, tally: Tally) -> None:
    Path(path).write_bytes(histogram_png(score_bands(tally.by_point), tally.rules.mql_threshold))


# --- progress ------------------------------------------------------------------------------------

class Progress:
    """A one-line progress bar for a terminal: redrawn at most five times a second, erased at the end."""

    def __init__(self, stream: TextIO, total_bytes: int, clock=time.monotonic):
        self.stream, self.total, self.clock, self._drawn_at = stream, max(1, total_bytes), clock, None

    def update(self, rows: int, done_bytes: int) -> None:
        now = self.clock()
        if self._drawn_at is not None and now - self._drawn_at < 0.2:
            return
        self._drawn_at = now
        share = min(1.0, done_bytes / self.total)
        filled = round(30 * share)
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} {rows:,} rows")
        self.stream.flush()

    def close(self) -> None:
        if self._drawn_at is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# --- the command ---------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot backtest",
                                     description="Score a HubSpot contacts export with scoring.yaml and report "
                                                 "who would be an MQL and why.")
    parser.add_argument("contacts", help="the contacts export (CSV, HubSpot's column labels or internal names)")
    parser.add_argument("--activities", help="activity file: contact_id, kind, occurred_at, label, count")
    parser.add_argument("--outcome", metavar="COLUMN", help="column with what Sales made of each contact "
                                                            "(SQL, Customer, Disqualified, …)")
    parser.add_argument("--config", metavar="DIR", help="config directory (default: $BOT_CONFIG_DIR or config/)")
    parser.add_argument("--compare", metavar="OTHER_DIR", help="also score with this config and show what changes")
    parser.add_argument("--plot", metavar="FILE.png", help="draw the score distribution to a PNG file")
    parser.add_argument("--now", metavar="ISO", help="score as of this moment (default: now)")
    parser.add_argument("--timezone", default="UTC", help="time zone of dates written without one (default UTC)")
    parser.add_argument("--delimiter", help="the files' delimiter, when it is not a comma and not detected")
    return parser


class _Refused(Exception):
    """The command line asks for something impossible; the message says what."""


def main(argv: list[str]) -> int:
    """The backtest command: report on stdout, progress and errors on stderr; 0, or 2 when it cannot run."""
    args = _parser().parse_args(argv)
    try:
        inputs = _inputs(args, datetime.now(timezone.utc))
        size = inputs.contacts.stat().st_size
        progress = Progress(sys.stderr, size) if sys.stderr.isatty() and size >= PROGRESS_FROM_BYTES else None
        result = run_backtest(inputs, progress)
    except (ExportError, ConfigError, _Refused, SettingsError) as error:
        print(f"backtest: {error}", file=sys.stderr)
        return 2
    print(render_report(result), end="")
    if args.plot:
        return _plot(args.plot, result.tally)
    return 0


def _plot(path: str, tally: Tally) -> int:
    try:
        write_histogram_png(path, tally)
    except OSError as error:
        print(f"backtest: cannot write {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"Histogram written to {path}")
    return 0


def _inputs(args: argparse.Namespace, now: datetime) -> Inputs:
    zone = _zone(args.timezone)
    config = args.config or Settings.from_env().config_dir
    contacts = Path(args.contacts)
    if not contacts.is_file():
        raise _Refused(f"{contacts}: no such file")
    return Inputs(contacts, load_config(config).scoring, _moment(args.now, zone) if args.now else now,
                  config_name=config, activities=Path(args.activities) if args.activities else None,
                  outcome=args.outcome, other=load_config(args.compare).scoring if args.compare else None,
                  other_name=args.compare or "", zone=zone, delimiter=_delimiter(args.delimiter))


def _zone(name: str) -> tzinfo:
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return timezone.utc         # dates then stay as exported: nothing to rewrite for the scorer
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Refused(f"--timezone {name!r}: not a time zone name (like UTC or America/New_York)") from None


def _moment(text: str, zone: tzinfo) -> datetime:
    try:
        return parse_export_time(text, zone)
    except ValueError:
        raise _Refused(f"--now {text!r}: expected a date like 2026-11-23T15:00Z") from None


def _delimiter(text: str | None) -> str | None:
    if text is None:
        return None
    value = {"tab": "\t", "\\t": "\t"}.get(text, text)
    if len(value) != 1:
        raise _Refused(f"--delimiter {text!r}: expected one character (or tab)")
    return value
