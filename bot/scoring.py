"""PURE: a contact and its activities scored against scoring.yaml, with reasons a rep can read."""
from __future__ import annotations

import re
from collections import Counter
from operator import itemgetter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, NamedTuple, Sequence
from urllib.parse import urlsplit

from bot.activities import PAGE_VIEWS, TRAIL_PROPERTIES
from bot.models import COMPANY_PREFIX, Activity, Contact, Reason, Score, make_tuple, parse_range
from bot.rules.compiled import (COMBINATIONS_KEPT, COMPANY_EMPLOYEES, CONTACT_EMPLOYEES, Compiled, Evidence, Facts,
                                Judged, Memo, Seen, compile_condition, names_read, read_property,
                                remember_by_values)
from bot.rules.conditions import EMPLOYEES, Condition, kinds_needed, properties_used, reads_values_only
from bot.rules.decay import Decay
from bot.rules.durations import window_words
from bot.rules.leaves import Decided, Leaves, Summary, decided_by_leaves, newest_of
from bot.rules.scoring import AXES, EngagementRule, Gate, Rule, ScoringRules
from bot.timefmt import ago

SUMMARY_ENGAGEMENTS = 2     # how many engagement reasons lead the summary: a rep skims it
POINT_DIGITS = 1            # decimals kept on decayed points and totals
EVIDENCE_DAYS = 5           # weekdays named in "viewed /pricing 3× — Mon, Tue, Thu"; older ones become "…"
CARD_PROPERTIES = ("firstname", "lastname", "email", "phone", "jobtitle", "company", "country", "state", "city",
                   "numemployees", "industry", "hubspot_owner_id", "lifecyclestage", "hs_lead_status",
                   "hs_analytics_source", "hs_analytics_source_data_1", "createdate", "associatedcompanyid")
COMPANY_CARD_PROPERTIES = ("name", "domain", "numberofemployees", "industry", "country", "hubspot_owner_id")
# One webhook subscription each: when these change, the activity trail (and so the score) changes.
WATCHED_TRAIL = ("recent_conversion_date", PAGE_VIEWS, "hs_email_last_open_date", "hs_email_last_click_date",
                 "engagements_last_meeting_booked")
NOT_SUBSCRIBABLE = {"num_unique_conversion_events", "hs_lastmodifieddate"}   # HubSpot refuses these
_HEADCOUNT = {EMPLOYEES, CONTACT_EMPLOYEES, COMPANY_EMPLOYEES}
_NOUNS = {"page_view": "page view", "form_submission": "form submission", "email_open": "email open",
          "email_click": "email click", "meeting_booked": "meeting booked", "chat": "chat"}
_PLURALS = {"meeting booked": "meetings booked"}
# Spelled out here: strftime's %a and %b follow the process locale, and reps read English cards.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_INDUSTRY_WORDS = {"COMPUTER_SOFTWARE": "software", "INFORMATION_TECHNOLOGY_AND_SERVICES": "IT services",
                   "INTERNET": "internet", "FINANCIAL_SERVICES": "financial services",
                   "MARKETING_AND_ADVERTISING": "marketing", "COMPUTER_HARDWARE": "hardware",
                   "HOSPITAL_HEALTH_CARE": "health care", "COMPUTER_NETWORK_SECURITY": "security"}
_SENIORITY = (
    (re.compile(r"\b(c[a-z]o|svp|evp)\b", re.I), str.upper),
    (re.compile(r"\bchief\b", re.I), lambda _: "C-level"),
    (re.compile(r"\b(vp|vice[- ]president)\b", re.I), lambda _: "VP"),
    (re.compile(r"\bdirector\b", re.I), lambda _: "Director"),
    (re.compile(r"\bhead\b(?: of [\w&]+)?", re.I), lambda text: text[:1].upper() + text[1:]),
)


# --- the score ---------------------------------------------------------------------------------

def score_contact(contact: Contact, activities: Sequence[Activity], rules: ScoringRules, now: datetime,
                  *, was_mql: bool = False, explain: bool = True) -> Score:
    """Fit + engagement points (decayed, capped), grade, gates and recency -> Score; `now` is the moment
    "2 min ago" and decay are measured from; `was_mql` keeps an MQL down to mql_exit_threshold;
    `explain=False` leaves the words for a rep (evidence, summary) empty: a backtest counts, nobody reads them."""
    judged = _judge(_plan(rules), contact, activities, now, was_mql)
    facts = Facts(contact, activities, now) if explain else None
    fit, engagement = (_reasons(judged, axis, facts) for axis in AXES)
    return Score(contact_id=contact.id, total=judged.total, fit=judged.fit, engagement=judged.engagement,
                 is_mql=judged.is_mql, high_intent=judged.high_intent, reasons=tuple(fit + engagement),
                 gates_failed=judged.gates_failed, last_engaged_at=judged.last_engaged,
                 summary=_summary(contact, engagement) if explain else "", computed_at=now, grade=judged.grade)


class Verdict(NamedTuple):
    """A score as a backtest counts it: score_contact's figures and labels, without Reason objects or words."""
    contact_id: str
    total: float
    is_mql: bool
    high_intent: bool
    rules_fired: tuple[str, ...]     # the labels of Score.reasons, in the same order (caps included)
    gates_failed: tuple[str, ...]
    last_engaged_at: datetime | None
    grade: str

    @classmethod
    def of(cls, score: Score) -> "Verdict":
        return cls(score.contact_id, score.total, score.is_mql, score.high_intent,
                   tuple(reason.rule for reason in score.reasons), score.gates_failed, score.last_engaged_at,
                   score.grade)


def verdict_for(contact: Contact, activities: Sequence[Activity], rules: ScoringRules, now: datetime) -> Verdict:
    """What score_contact(..., explain=False) decides, from the same steps, as a Verdict: a backtest scores
    millions of contacts and only counts, so it skips making a Reason per rule and a Score per contact.

    Without caps, and with each axis decided one way, what a contact's verdict says follows from what its values
    and its shape decide and whether it is active, except the points of the rules whose points decay, which
    follow from how old the activities that date them are. So what each such combination decides is worked
    out once and remembered (_kept): whole, for a contact that fires no rule whose points decay (in the
    synthetic exports, 3 in 4 fire no engagement rule at all); else all but the engagement points, which are
    then aged for the contact, and the total, grade and MQL rule that follow from them."""
    plan = _plan(rules)
    summary, by_values, by_shape = _decided(plan, contact, activities, now)
    if not plan.one_way or (by_shape.holding and plan.caps):    # caps trim by what each contact's points add to
        return _verdict(contact.id, _judge_from(plan, contact, activities, now, False, summary, by_values, by_shape))
    verdict, fit, judged_now = _kept(plan, contact, activities, now, summary, by_values, by_shape)
    _, total, is_mql, high_intent, labels, failed, _, grade = verdict
    if by_shape.holding and not judged_now:     # the figures kept are another contact's: age this one's points
        total, grade, is_mql = _outcome(plan, fit, _points(_engagement(by_values, by_shape, summary, now)), failed,
                                        False)
    return make_tuple(Verdict, (contact.id, total, is_mql, high_intent, labels, failed, summary.last, grade))


def _kept(plan: _Plan, contact: Contact, activities: Sequence[Activity], now: datetime, summary: Summary,
          by_values: _ByValues, by_shape: _ByShape) -> tuple[Verdict, float, bool]:
    """(the verdict of the first contact scored with these values, shape and recency, its fit points, whether
    that first contact is this one): what they decide for every contact, remembered in plan.settled (see
    verdict_for)."""
    key = (id(by_values), id(by_shape), _inactive(plan, summary.last, now))
    kept = plan.settled.get(key)
    if kept is not None and kept[0] is by_values and kept[1] is by_shape:    # ids are reused once freed
        return kept[2], kept[3], False
    if len(plan.settled) >= COMBINATIONS_KEPT:
        plan.settled.clear()
    judged = _judge_from(plan, contact, activities, now, False, summary, by_values, by_shape)
    verdict = _verdict("", judged)
    plan.settled[key] = (by_values, by_shape, verdict, judged.fit)
    return verdict, judged.fit, True


def _verdict(contact_id: str, judged: _Judged) -> Verdict:
    fired, trims = judged.fired, judged.trims
    if trims is _NO_TRIMS:
        labels = [step.label for step, _, _ in fired["fit"]] + [step.label for step, _, _ in fired["engagement"]]
    else:
        labels = [step.label for step, _, _ in fired["fit"]] + [trim.rule for trim in trims["fit"]] + \
            [step.label for step, _, _ in fired["engagement"]] + [trim.rule for trim in trims["engagement"]]
    return Verdict(contact_id, judged.total, judged.is_mql, judged.high_intent, tuple(labels), judged.gates_failed,
                   judged.last_engaged, judged.grade)


Fired = tuple["_Step", float, "float | None"]     # (rule, points, points before decay or None)
_NO_AGE = timedelta(0)
_UNDATED = object()     # a condition that holds with no dated activity among its evidence: nothing to decay


class _Judged(NamedTuple):
    """Everything score_contact decides for one contact, before any words are written."""
    fired: dict[str, Sequence[Fired]]      # axis -> its rules that hold, in file order
    trims: dict[str, list[Reason]]         # axis -> the caps that trimmed it
    fit: float
    engagement: float
    total: float
    grade: str
    is_mql: bool
    high_intent: bool
    gates_failed: tuple[str, ...]
    last_engaged: datetime | None


def _judge(plan: _Plan, contact: Contact, activities: Sequence[Activity], now: datetime, was_mql: bool) -> _Judged:
    """The one place a contact is scored: score_contact and verdict_for only dress the result.

    Each rule and gate is decided the cheapest way its condition allows: property values alone by what
    those values were found to decide (remembered), activities alone by what the shape of the contact's
    activities was found to decide (leaves.py, remembered too), anything else (a dated property, properties
    mixed with activities) by its compiled test."""
    return _judge_from(plan, contact, activities, now, was_mql, *_decided(plan, contact, activities, now))


def _decided(plan: _Plan, contact: Contact, activities: Sequence[Activity],
             now: datetime) -> tuple[Summary, _ByValues, _ByShape]:
    """The contact's activities summed per leaf, and what its values and its shape were found to decide."""
    summary = plan.leaves.summary(activities, now)
    return summary, plan.by_values(contact, now), plan.by_shape[plan.leaves.shape(summary)]


def _inactive(plan: _Plan, last_engaged: datetime | None, now: datetime) -> bool:
    """The recency rule fails: no engagement within active_within."""
    return last_engaged is None or last_engaged < now - plan.active_within


def _judge_from(plan: _Plan, contact: Contact, activities: Sequence[Activity], now: datetime, was_mql: bool,
                summary: Summary, by_values: _ByValues, by_shape: _ByShape) -> _Judged:
    fit, failed = by_values.fit, by_values.failed + by_shape.failed
    engagement = _engagement(by_values, by_shape, summary, now)
    high_intent = by_values.high_intent or by_shape.high_intent
    if not plan.one_way:
        fit, engagement, failed = _in_file_order(plan.tested, Facts(contact, activities, now), fit, engagement, failed)
        high_intent = any([step.high_intent for step, _, _ in engagement])
    return _conclude(plan, fit, engagement, failed, high_intent, summary.last, now, was_mql)


def _engagement(by_values: _ByValues, by_shape: _ByShape, summary: Summary, now: datetime) -> tuple[Fired, ...]:
    """The engagement rules the values and the shape say hold, in that order, their points aged by the summary."""
    if not by_shape.holding:     # all engagement rules: fit rules read properties only
        return by_values.engagement
    return by_values.engagement + tuple([(step, *_decayed(step.rule, step.decay, newest_of(summary, dating), now))
                                         for step, dating in by_shape.holding])


def _in_file_order(tested: Sequence[_Step], facts: Facts, fit: Sequence[Fired], engagement: Sequence[Fired],
                   failed: Sequence[_Step]) -> tuple[list[Fired], list[Fired], list[_Step]]:
    """With the rules and gates only their compiled tests decide, and all back in file order (for a config
    deciding an axis, or its gates, more than one way)."""
    fired, failed = {"fit": list(fit), "engagement": list(engagement)}, list(failed)
    for step in tested:
        seen = None if step.kinds is not None and step.kinds.isdisjoint(facts.by_kind) else step.test(facts)
        if step.axis is None:
            if seen is None:
                failed.append(step)
        elif seen is not None:
            newest = _newest(seen) if step.decay is not None else _UNDATED
            fired[step.axis].append((step, *_decayed(step.rule, step.decay, newest, facts.now)))
    return (sorted(fired["fit"], key=_step_order), sorted(fired["engagement"], key=_step_order),
            sorted(failed, key=_order))


class _ByValues(NamedTuple):
    """What one combination of property values decides for the value-only rules and gates."""
    fit: tuple[Fired, ...]           # rules that hold (no date among their evidence: nothing decays)
    engagement: tuple[Fired, ...]
    failed: tuple[_Step, ...]        # gates that do not hold
    high_intent: bool                # a rule that holds is high intent


class _ByShape(NamedTuple):
    """What one shape of activities decides for the rules and gates made of activities alone."""
    holding: tuple[tuple[_Step, tuple[int, ...]], ...]    # rules that hold, with the leaves that date them
    failed: tuple[_Step, ...]                             # gates that do not hold
    high_intent: bool                                     # a rule that holds is high intent


def _by_values(steps: Sequence[_Step]) -> Callable[[Judged], _ByValues]:
    """The value-only steps' verdicts (evidence or None each, in order) -> what they decide.

    One _ByValues per decision (which steps hold), shared by every combination of values that decides it:
    verdict_for remembers what a contact's values decide by the identity of this object, and the thousands
    of combinations of values (titles are free text) come down to a dozen decisions with the shipped rules."""
    def decided(each_holds: tuple[bool, ...]) -> _ByValues:
        held = list(zip(steps, each_holds))
        fired = {axis: tuple((step, step.rule.points, None) for step, holds in held if holds and step.axis == axis)
                 for axis in AXES}
        return _ByValues(fired["fit"], fired["engagement"],
                         tuple(step for step, holds in held if not holds and step.axis is None),
                         any(step.high_intent for step, _, _ in fired["engagement"]))
    decisions = Memo(decided, COMBINATIONS_KEPT)
    return lambda judged: decisions[tuple([seen is not None for seen in judged])]


def _by_shape(steps: Sequence[_Step]) -> Callable[[tuple[bool, ...]], _ByShape]:
    """A shape -> what it decides for the leaf-decided steps."""
    def decided(shape: tuple[bool, ...]) -> _ByShape:
        dated = [(step, step.decided(shape)) for step in steps]
        holding = tuple((step, dating) for step, dating in dated if dating is not None and step.axis is not None)
        return _ByShape(holding, tuple(step for step, dating in dated if dating is None and step.axis is None),
                        any(step.high_intent for step, _ in holding))
    return decided


def _order(step: _Step) -> int:
    return step.order


def _step_order(item: Fired) -> int:
    return item[0].order


def _conclude(plan: _Plan, fit_fired: Sequence[Fired], engagement_fired: Sequence[Fired], failed: Sequence[_Step],
              high_intent: bool, last_engaged: datetime | None, now: datetime, was_mql: bool) -> _Judged:
    """Caps, totals, grade, recency and the MQL rule, from the rules that fired and the gates that failed."""
    if plan.caps:
        fit_trims, fit = _capped(plan, "fit", fit_fired)
        engagement_trims, engagement = _capped(plan, "engagement", engagement_fired)
        trims = {"fit": fit_trims, "engagement": engagement_trims}
    else:
        fit, engagement, trims = _points(fit_fired), _points(engagement_fired), _NO_TRIMS
    gates_failed = [step.label for step in failed]
    if _inactive(plan, last_engaged, now):
        gates_failed.append(plan.inactive)
    total, grade, is_mql = _outcome(plan, fit, engagement, gates_failed, was_mql)
    return _Judged({"fit": fit_fired, "engagement": engagement_fired}, trims, fit, engagement, total, grade,
                   is_mql, high_intent, tuple(gates_failed), last_engaged)


def _outcome(plan: _Plan, fit: float, engagement: float, gates_failed: Sequence[str],
             was_mql: bool) -> tuple[float, str, bool]:
    """(total, grade, MQL) from the fit and engagement points after caps and the gates failed (recency included)."""
    total = _round(fit + engagement)
    grade = plan.grade(fit, engagement) if plan.grade else ""
    return total, grade, not gates_failed and plan.passes(total, grade, was_mql)


_NO_TRIMS: dict[str, list[Reason]] = {"fit": [], "engagement": []}     # read only


def _points(fired: Sequence[Fired]) -> float:
    return round(sum(map(_POINTS, fired)), POINT_DIGITS)


_POINTS = itemgetter(1)     # a Fired's points


def _newest(seen: Evidence) -> datetime | object:
    """The newest activity in a condition's evidence (decay ages points by it), or _UNDATED."""
    return max([s.last for s in seen if s.last is not None], default=_UNDATED)


def _reasons(judged: _Judged, axis: str, facts: Facts | None) -> list[Reason]:
    """The axis's Reasons as a rep reads them: one per rule that fired, then one per cap that trimmed them.
    With `facts` (explaining), each rule's compiled test gives its evidence, in words."""
    reasons = [Reason(step.label, axis, points, _evidence(step.label, step.test(facts), facts.now) if facts else "",
                      base)
               for step, points, base in judged.fired[axis]]
    return reasons + judged.trims[axis]


def _decayed(rule: Rule, decay: Decay | None, newest: datetime | object, now: datetime) -> tuple[float, float | None]:
    """(points now, points before decay or None when decay took nothing off), aged by the newest activity."""
    if decay is None or newest is _UNDATED:
        return rule.points, None
    age = now - newest
    points = _round(rule.points * decay.factor(age if age > _NO_AGE else _NO_AGE))   # max() costs a call a rule
    return (rule.points, None) if points == rule.points else (points, rule.points)


def _capped(plan: _Plan, axis: str, fired: Sequence[Fired]) -> tuple[list[Reason], float]:
    """(one negative Reason per cap that trimmed the axis, group caps first; the axis's points after caps)."""
    points = [item[1] for item in fired]
    trims: list[Reason] = []
    for group, cap in plan.group_caps:
        trims += _trim(group, axis, _round(sum(item[1] for item in fired if item[0].rule.group == group)), cap)
    axis_cap = plan.axis_caps[axis]
    if axis_cap is not None:
        trims += _trim(axis, axis, _round(sum(points + [trim.points for trim in trims])), axis_cap)
    return trims, _round(sum(points + [trim.points for trim in trims]))


def _trim(name: str, axis: str, points: float, cap: float) -> list[Reason]:
    if points <= cap:
        return []
    evidence = f"{name} rules gave {points:g} points, capped at {cap:g}"
    return [Reason(f"{name} cap", axis, _round(cap - points), evidence)]


_MQL_RULES: dict[str, Callable[[bool, bool], bool]] = {
    "threshold": lambda by_score, by_grade: by_score, "grades": lambda by_score, by_grade: by_grade,
    "both": lambda by_score, by_grade: by_score and by_grade, "either": lambda by_score, by_grade: by_score or by_grade,
}


def qualifies(rules: ScoringRules, total: float, grade: str, was_mql: bool = False) -> bool:
    """The MQL rule before gates and recency: the threshold (the exit one for a standing MQL), grades, or both."""
    return _plan(rules).passes(total, grade, was_mql)


def mql_rule(rules: ScoringRules) -> Callable[[float, str], bool]:
    """qualifies(rules, total, grade) as one function, for a caller asking it of many contacts."""
    return _plan(rules).passes


def _round(points: float) -> float:
    """Decayed points carry fractions: one decimal is what a person reads, and sums stay free of float noise."""
    return round(points, POINT_DIGITS)


# --- conditions --------------------------------------------------------------------------------

def holds(condition: Condition, contact: Contact, activities: Sequence[Activity],
          now: datetime) -> tuple[Seen, ...] | None:
    """What made the condition hold (its evidence), or None when it does not."""
    return compile_condition(condition)(Facts(contact, activities, now))


class _Step(NamedTuple):
    """One fit or engagement rule, or a gate, as the scorer decides it: by its leaves (`decided`), by the
    values remembered (`value_only`), else by its compiled test (which also gives the evidence, in words,
    whenever a score is explained)."""
    order: int                  # its place in the file: rules by axis, then gates
    axis: str | None            # None: a gate
    rule: Rule | Gate
    label: str
    decay: Decay | None
    high_intent: bool
    test: Compiled
    decided: Decided | None
    value_only: bool
    kinds: frozenset[str] | None   # activity kinds the compiled test needs one of (conditions.kinds_needed)


@dataclass(frozen=True)
class _Plan:
    """A ScoringRules compiled: its rules in file order, then its gates, as _Steps, split by how each is
    decided: what a contact's property values decide (`by_values`) and what the shape of its activities
    decides (`by_shape`) are each worked out once and remembered; the rest are `tested` one by one."""
    leaves: Leaves
    by_values: Callable[[Contact, datetime], _ByValues]
    by_shape: Memo                                  # shape -> _ByShape
    tested: tuple[_Step, ...]
    settled: dict          # (values, shape, inactive) decided -> what they decide (see verdict_for)
    one_way: bool                                   # no step tested, and each axis and the gates decided one way
    group_caps: tuple[tuple[str, float], ...]
    axis_caps: dict[str, float | None]
    caps: bool                                      # any cap at all (most configs: none)
    active_within: timedelta
    grade: Callable[[float, float], str] | None     # fit points, engagement points -> "A1"
    inactive: str                                   # the failed recency rule, in words
    qualifies: Callable[[bool, bool], bool]         # the MQL rule: (by score, by grade) -> MQL
    thresholds: tuple[float, float]                 # the score to meet: [was an MQL]
    mql_grades: frozenset[str]

    def passes(self, total: float, grade: str, was_mql: bool = False) -> bool:
        """The MQL rule before gates and recency: the threshold (the exit one for a standing MQL), grades, or both."""
        return self.qualifies(total >= self.thresholds[was_mql], grade in self.mql_grades)


_PLANS: dict[int, tuple[ScoringRules, _Plan]] = {}
PLANS_KEPT = 8     # configs compiled at once: the live one, a reload, a backtest's --compare


def _plan(rules: ScoringRules) -> _Plan:
    """The rules compiled once. Keyed by identity (the models hold dicts, so they do not hash); the
    entry keeps the rules alive so their id is not reused while cached."""
    kept = _PLANS.get(id(rules))
    if kept is not None and kept[0] is rules:
        return kept[1]
    plan = _compile_plan(rules)
    while len(_PLANS) >= PLANS_KEPT:     # pop with a default: another thread may have evicted it first
        _PLANS.pop(next(iter(_PLANS), None), None)
    _PLANS[id(rules)] = (rules, plan)
    return plan


def _compile_plan(rules: ScoringRules) -> _Plan:
    ordered = [(axis, rule) for axis in AXES for rule in rules.rules_of(axis)] + [(None, gate) for gate in rules.gates]
    leaves = Leaves([rule.when for _, rule in ordered if decided_by_leaves(rule.when)])
    steps = tuple(_step(order, axis, rule, rules, leaves) for order, (axis, rule) in enumerate(ordered))
    by_values = [step for step in steps if step.value_only]
    by_shape = [step for step in steps if step.decided is not None]
    tested = tuple(step for step in steps if not step.value_only and step.decided is None)
    ways = {(step.axis, step.value_only, step.decided is None) for step in steps}
    one_way = not tested and len(ways) == len({axis for axis, _, _ in ways})
    return _Plan(leaves, remember_by_values([step.rule.when for step in by_values], _by_values(by_values)),
                 Memo(_by_shape(by_shape), COMBINATIONS_KEPT), tested, {}, one_way,
                 tuple(rules.group_caps.items()), {axis: rules.cap_for(axis) for axis in AXES},
                 bool(rules.group_caps) or any(rules.cap_for(axis) is not None for axis in AXES), rules.active_within,
                 rules.grades.grader if rules.grades else None,
                 f"No engagement in the last {window_words(rules.active_within)}", _MQL_RULES[rules.rule],
                 (rules.threshold_for(False), rules.threshold_for(True)), frozenset(rules.mql_grades or ()))


def _step(order: int, axis: str | None, rule: Rule | Gate, rules: ScoringRules, leaves: Leaves) -> _Step:
    when = rule.when
    return _Step(order, axis, rule, rule.label, rules.decay_for(rule) if axis else None,
                 isinstance(rule, EngagementRule) and rule.high_intent, compile_condition(when),
                 leaves.compile(when) if decided_by_leaves(when) else None, reads_values_only(when), kinds_needed(when))


# --- words for the rep -------------------------------------------------------------------------

def _evidence(label: str, seen: tuple[Seen, ...], now: datetime) -> str:
    """ "Requested a demo 2 min ago", "14 page views, last 2 min ago", "VP Engineering — decision-maker title"."""
    plain = [s for s in seen if s.last is not None and not s.counted]
    parts = [f"{label} {ago(max(s.last for s in plain), now)}"] if plain else []
    parts += [_count_words(s, now) for s in seen if s.counted]
    values = [s for s in seen if s.last is None and s.value is not None]
    if values:
        described = plain or all(s.name in _HEADCOUNT for s in values)
        parts.append(", ".join(map(_value_words, values)) + ("" if described else f" — {_casual(label)}"))
    return ", ".join(parts) or label


def _count_words(seen: Seen, now: datetime) -> str:
    if seen.name == "page_view" and all(activity.label for activity in seen.matched):
        return f"viewed {_pages_words(seen.matched)} {seen.count}× — {_days_words(seen.matched, now)}"
    noun = _NOUNS[seen.name]
    plural = noun if seen.count == 1 else _PLURALS.get(noun, noun + "s")
    return f"{seen.count} {plural}, last {ago(seen.last, now)}"


def _pages_words(views: Sequence[Activity]) -> str:
    """ "/pricing", "/pricing, /pricing/teams +1 more": the most viewed pages first, ties by recency."""
    counts: Counter[str] = Counter()
    for view in sorted(views, key=lambda view: view.occurred_at, reverse=True):
        counts[_page(view.label)] += view.count
    pages = [page for page, _ in counts.most_common()]
    return ", ".join(pages[:2]) + (f" +{len(pages) - 2} more" if len(pages) > 2 else "")


def _page(url: str) -> str:
    """A URL as a rep reads it: its path ("/pricing"), without the site, query or fragment."""
    parts = urlsplit(url.strip())
    return (parts.path or "/") if parts.netloc else url.strip()


def _days_words(activities: Sequence[Activity], now: datetime) -> str:
    """ "Mon, Tue, Thu" (UTC days, oldest first); "Mon 24 Feb" once a day is a week old or more."""
    days = sorted({activity.occurred_at.astimezone(timezone.utc).date() for activity in activities})
    today = now.astimezone(timezone.utc).date()
    this_week = all((today - day).days < 7 for day in days)
    words = [_WEEKDAYS[day.weekday()] + ("" if this_week else f" {day.day} {_MONTHS[day.month - 1]}")
             for day in days]
    return ", ".join(words if len(words) <= EVIDENCE_DAYS else ["…", *words[-EVIDENCE_DAYS:]])


def _value_words(seen: Seen) -> str:
    if seen.name in _HEADCOUNT:
        return f"{seen.value} employees"
    if seen.name.endswith("industry"):
        words = _industry_words(seen.value)
        return words[:1].upper() + words[1:]
    return seen.value or ""


def _casual(text: str) -> str:
    """A label mid-sentence: "Decision-maker title" -> "decision-maker title"; acronyms stay."""
    return " ".join(w.lower() if w[:1].isupper() and w[1:] == w[1:].lower() else w for w in text.split(" "))


def _summary(contact: Contact, engagement: list[Reason]) -> str:
    """ "Requested a demo 2 min ago · 14 page views, last 2 min ago · VP at a 250-person software company"."""
    top = sorted((r for r in engagement if r.points > 0), key=lambda r: -r.points)[:SUMMARY_ENGAGEMENTS]
    parts = [reason.evidence for reason in top] + [_fit_phrase(contact)]
    return " · ".join(filter(None, parts))


def _fit_phrase(contact: Contact) -> str:
    title = contact.get("jobtitle")
    who = _seniority(title) if title else None
    company = _company_phrase(contact)
    if (who or title) and company:
        return f"{who or title} at {company}"
    return who or title or (f"At {company}" if company else "")


def _seniority(title: str) -> str | None:
    for pattern, word in _SENIORITY:
        if match := pattern.search(title):
            return word(match.group(0))
    return None


def _company_phrase(contact: Contact) -> str | None:
    size, industry = _size_words(read_property(contact, EMPLOYEES)), _company_industry(contact)
    if not (size or industry):
        return None
    words = " ".join(filter(None, (size, industry, "company")))
    return f"{_article(words)} {words}"


def _size_words(value: str | None) -> str | None:
    bounds = parse_range(value)
    if bounds is None or bounds[0] < 1:
        return None
    low = f"{int(bounds[0]):,}"
    if bounds[1] == float("inf"):
        return f"{low}+ person"
    return f"{low}-person" if bounds[0] == bounds[1] else f"{low}-{int(bounds[1]):,} person"


def _company_industry(contact: Contact) -> str | None:
    enum = contact.get(COMPANY_PREFIX + "industry")
    if enum:
        return _industry_words(enum)
    typed = contact.get("industry")
    return _casual(typed.strip()) if typed else None


def _industry_words(value: str) -> str:
    """HubSpot's company industries are list values (COMPUTER_SOFTWARE); reps read "software"."""
    if value in _INDUSTRY_WORDS:
        return _INDUSTRY_WORDS[value]
    return value.replace("_", " ").lower() if value.isupper() else _casual(value)


def _article(words: str) -> str:
    """ "a" or "an", by sound: an 8-person, an 11-person, an 18,000-person, an IT services company."""
    number = re.match(r"[\d,]+", words)
    if number:
        digits = number.group(0).replace(",", "")
        spoken_vowel = digits.startswith("8") or digits in ("11", "18") or \
            (len(digits) == 5 and digits[:2] in ("11", "18"))   # eleven/eighteen thousand
        return "an" if spoken_vowel else "a"
    return "an" if words[:1].lower() in "aeiou" else "a"


# --- what to read and watch ----------------------------------------------------------------------

def _rule_properties(rules: ScoringRules) -> set[str]:
    return set().union(*(properties_used(rule.when) for rule in (*rules.fit, *rules.engagement, *rules.gates)))


def properties_scored(rules: ScoringRules) -> set[str]:
    """Every property a score reads, as rules name them (`company.x` for the company's): the rules' (both
    headcounts for `employees`) and the activity trail's."""
    return {read for name in _rule_properties(rules) for read in names_read(name)} | set(TRAIL_PROPERTIES)


def contact_properties_to_read(rules: ScoringRules) -> list[str]:
    """Every contact property the scorer, the activity trail and the Slack card read, sorted."""
    names = {CONTACT_EMPLOYEES if name == EMPLOYEES else name for name in _rule_properties(rules)}
    names = {name for name in names if not name.startswith(COMPANY_PREFIX)}
    return sorted(names | set(CARD_PROPERTIES) | set(TRAIL_PROPERTIES))


def company_properties_to_read(rules: ScoringRules) -> list[str]:
    """The card's company properties plus every `company.x` the rules use, sorted."""
    used = {name[len(COMPANY_PREFIX):] for name in _rule_properties(rules) if name.startswith(COMPANY_PREFIX)}
    return sorted(used | set(COMPANY_CARD_PROPERTIES))


def watched_properties(rules: ScoringRules) -> list[str]:
    """Contact properties whose change can change a score: one webhook subscription each."""
    names = {CONTACT_EMPLOYEES if name == EMPLOYEES else name for name in _rule_properties(rules)}
    names = {name for name in names if not name.startswith(COMPANY_PREFIX)} | set(WATCHED_TRAIL)
    return sorted(names - NOT_SUBSCRIBABLE)
