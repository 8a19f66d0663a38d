"""PURE: a contact and its activities scored against scoring.yaml, with reasons a rep can read."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, NamedTuple, Sequence
from urllib.parse import urlsplit

from bot.activities import PAGE_VIEWS, TRAIL_PROPERTIES
from bot.models import COMPANY_PREFIX, Activity, Contact, Reason, Score, parse_range
from bot.rules.compiled import (COMPANY_EMPLOYEES, CONTACT_EMPLOYEES, Compiled, Evidence, Facts, Judged, Seen,
                                compile_condition, read_property, remember_by_values)
from bot.rules.conditions import EMPLOYEES, Condition, kinds_needed, properties_used, reads_values_only
from bot.rules.decay import Decay
from bot.rules.durations import window_words
from bot.rules.scoring import AXES, EngagementRule, Rule, ScoringRules
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
    judged = _judge(_plan(rules), Facts(contact, activities, now), activities, was_mql)
    fit, engagement = (_reasons(judged, axis, now, explain) for axis in AXES)
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
    millions of contacts and only counts, so it skips making a Reason per rule and a Score per contact."""
    judged = _judge(_plan(rules), Facts(contact, activities, now), activities, False)
    labels = [step.rule.label for step, *_ in judged.fired["fit"]] + [trim.rule for trim in judged.trims["fit"]]
    labels += [step.rule.label for step, *_ in judged.fired["engagement"]]
    labels += [trim.rule for trim in judged.trims["engagement"]]
    return Verdict(contact.id, judged.total, judged.is_mql, judged.high_intent, tuple(labels), judged.gates_failed,
                   judged.last_engaged, judged.grade)


Fired = tuple["_Step", float, "float | None", Evidence]     # (rule, points, points before decay, evidence)


class _Judged(NamedTuple):
    """Everything score_contact decides for one contact, before any words are written."""
    fired: dict[str, list[Fired]]      # axis -> its rules that hold, in file order
    trims: dict[str, list[Reason]]     # axis -> the caps that trimmed it
    fit: float
    engagement: float
    total: float
    grade: str
    is_mql: bool
    high_intent: bool
    gates_failed: tuple[str, ...]
    last_engaged: datetime | None


def _judge(plan: _Plan, facts: Facts, activities: Sequence[Activity], was_mql: bool) -> _Judged:
    """The one place a contact is scored: score_contact and verdict_for only dress the result."""
    rules, now = plan.config, facts.now
    remembered = plan.by_values(facts)
    fired = _fired(plan, facts, remembered)
    fit_trims, fit = _capped(plan, "fit", fired["fit"])
    engagement_trims, engagement = _capped(plan, "engagement", fired["engagement"])
    last_engaged = max([activity.occurred_at for activity in activities], default=None)
    failed = [label for label, test, place in plan.gates
              if (test(facts) if place is None else remembered[place]) is None]
    if last_engaged is None or last_engaged < now - rules.active_within:
        failed.append(plan.inactive)
    total = _round(fit + engagement)
    grade = plan.grade(fit, engagement) if plan.grade else ""
    return _Judged(fired, {"fit": fit_trims, "engagement": engagement_trims}, fit, engagement, total, grade,
                   not failed and plan.qualifies(total >= plan.thresholds[was_mql], grade in plan.mql_grades),
                   any(step.high_intent for step, *_ in fired["engagement"]), tuple(failed), last_engaged)


def _fired(plan: _Plan, facts: Facts, remembered: Judged) -> dict[str, list[Fired]]:
    """Every fit and engagement rule whose condition holds, with its points (decayed), by axis in file order."""
    fired: dict[str, list[Fired]] = {axis: [] for axis in AXES}
    now, kinds_done = facts.now, facts.by_kind
    for step in plan.steps:
        if step.kinds is not None and step.kinds.isdisjoint(kinds_done):
            continue
        seen = step.test(facts) if step.remembered is None else remembered[step.remembered]
        if seen is not None:
            fired[step.axis].append((step, *_decayed(step.rule, step.decay, seen, now), seen))
    return fired


def _reasons(judged: _Judged, axis: str, now: datetime, explain: bool) -> list[Reason]:
    """The axis's Reasons as a rep reads them: one per rule that fired, then one per cap that trimmed them."""
    reasons = [Reason(step.rule.label, axis, points, _evidence(step.rule.label, seen, now) if explain else "", base)
               for step, points, base, seen in judged.fired[axis]]
    return reasons + judged.trims[axis]


def _decayed(rule: Rule, decay: Decay | None, seen: tuple[Seen, ...], now: datetime) -> tuple[float, float | None]:
    """(points now, points before decay or None when decay took nothing off), aged by the newest activity."""
    if decay is None:
        return rule.points, None
    newest = max([s.last for s in seen if s.last is not None], default=None)
    if newest is None:
        return rule.points, None
    points = _round(rule.points * decay.factor(max(now - newest, timedelta(0))))
    return (rule.points, None) if points == rule.points else (points, rule.points)


def _capped(plan: _Plan, axis: str, fired: list[Fired]) -> tuple[list[Reason], float]:
    """(one negative Reason per cap that trimmed the axis, group caps first; the axis's points after caps)."""
    points = [item[1] for item in fired]
    if not plan.caps:
        return [], _round(sum(points))
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
    plan = _plan(rules)
    return plan.qualifies(total >= plan.thresholds[was_mql], grade in plan.mql_grades)


def _round(points: float) -> float:
    """Decayed points carry fractions: one decimal is what a person reads, and sums stay free of float noise."""
    return round(points, POINT_DIGITS)


# --- conditions --------------------------------------------------------------------------------

def holds(condition: Condition, contact: Contact, activities: Sequence[Activity],
          now: datetime) -> tuple[Seen, ...] | None:
    """What made the condition hold (its evidence), or None when it does not."""
    return compile_condition(condition)(Facts(contact, activities, now))


class _Step(NamedTuple):
    """One fit or engagement rule as the scorer applies it."""
    axis: str
    rule: Rule
    decay: Decay | None
    high_intent: bool
    test: Compiled
    remembered: int | None     # its place in the plan's value-only verdicts (then `test` is not called)
    kinds: frozenset[str] | None   # activity kinds it needs one of (conditions.kinds_needed)


@dataclass(frozen=True)
class _Plan:
    """A ScoringRules compiled: its rules in file order, then its gates ((label, test, place) each); the
    conditions that read property values only are judged together by `by_values` and remembered."""
    config: ScoringRules
    steps: tuple[_Step, ...]
    gates: tuple[tuple[str, Compiled, int | None], ...]
    by_values: Callable[[Facts], Judged]
    group_caps: tuple[tuple[str, float], ...]
    axis_caps: dict[str, float | None]
    caps: bool                                      # any cap at all (most configs: none)
    grade: Callable[[float, float], str] | None     # fit points, engagement points -> "A1"
    inactive: str                                   # the failed recency rule, in words
    qualifies: Callable[[bool, bool], bool]         # the MQL rule: (by score, by grade) -> MQL
    thresholds: tuple[float, float]                 # the score to meet: [was an MQL]
    mql_grades: frozenset[str]


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
    ordered = [(axis, rule) for axis in AXES for rule in rules.rules_of(axis)]
    conditions = [rule.when for _, rule in ordered] + [gate.when for gate in rules.gates]
    value_only = [condition for condition in conditions if reads_values_only(condition)]
    places = iter(range(len(value_only)))

    def place(condition: Condition) -> int | None:
        return next(places) if reads_values_only(condition) else None

    steps = tuple(_Step(axis, rule, rules.decay_for(rule), isinstance(rule, EngagementRule) and rule.high_intent,
                        compile_condition(rule.when), place(rule.when), kinds_needed(rule.when))
                  for axis, rule in ordered)
    gates = tuple((gate.label, compile_condition(gate.when), place(gate.when)) for gate in rules.gates)
    return _Plan(rules, steps, gates, remember_by_values(value_only), tuple(rules.group_caps.items()),
                 {axis: rules.cap_for(axis) for axis in AXES},
                 bool(rules.group_caps) or any(rules.cap_for(axis) is not None for axis in AXES), rules.grades.grade if rules.grades else None,
                 f"No engagement in the last {window_words(rules.active_within)}", _MQL_RULES[rules.rule],
                 (rules.threshold_for(False), rules.threshold_for(True)), frozenset(rules.mql_grades or ()))


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
