"""PURE: a contact and its activities scored against scoring.yaml, with reasons a rep can read."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Sequence
from urllib.parse import urlsplit

from bot.activities import PAGE_VIEWS, TRAIL_PROPERTIES
from bot.models import COMPANY_PREFIX, Activity, Contact, Reason, Score, parse_range
from bot.rules.compiled import (COMPANY_EMPLOYEES, CONTACT_EMPLOYEES, Compiled, Facts, Seen, compile_condition,
                                read_property)
from bot.rules.conditions import EMPLOYEES, Condition, properties_used
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
    plan, facts = _plan(rules), Facts(contact, activities, now)
    fired = _fired(plan, facts, explain)
    fit, engagement = (_capped(rules, axis, [pair for pair in fired if pair[1].axis == axis]) for axis in AXES)
    last_engaged = max((activity.occurred_at for activity in activities), default=None)
    failed = _failed_gates(plan, facts) + _recency_failure(last_engaged, rules, now)
    fit_points, engagement_points = _sum(fit), _sum(engagement)
    total = _round(fit_points + engagement_points)
    grade = rules.grades.grade(fit_points, engagement_points) if rules.grades else ""
    return Score(contact_id=contact.id, total=total, fit=fit_points, engagement=engagement_points,
                 is_mql=not failed and qualifies(rules, total, grade, was_mql),
                 high_intent=any(isinstance(rule, EngagementRule) and rule.high_intent for rule, _ in fired),
                 reasons=tuple(fit + engagement), gates_failed=tuple(failed), last_engaged_at=last_engaged,
                 summary=_summary(contact, engagement) if explain else "", computed_at=now, grade=grade)


def _fired(plan: _Plan, facts: Facts, explain: bool) -> list[tuple[Rule, Reason]]:
    """(rule, Reason) for every fit and engagement rule whose condition holds, in file order."""
    fired = []
    for axis, rule, decay, test in plan.rules:
        seen = test(facts)
        if seen is not None:
            points, base = _decayed(rule, decay, seen, facts.now)
            evidence = _evidence(rule.label, seen, facts.now) if explain else ""
            fired.append((rule, Reason(rule.label, axis, points, evidence, base)))
    return fired


def _decayed(rule: Rule, decay: Decay | None, seen: tuple[Seen, ...], now: datetime) -> tuple[float, float | None]:
    """(points now, points before decay or None when decay took nothing off), aged by the newest activity."""
    if decay is None:
        return rule.points, None
    newest = max((s.last for s in seen if s.last is not None), default=None)
    if newest is None:
        return rule.points, None
    points = _round(rule.points * decay.factor(max(now - newest, timedelta(0))))
    return (rule.points, None) if points == rule.points else (points, rule.points)


def _capped(rules: ScoringRules, axis: str, fired: list[tuple[Rule, Reason]]) -> list[Reason]:
    """The axis's reasons, then one negative reason per cap that trimmed them (group caps first)."""
    reasons = [reason for _, reason in fired]
    for group, cap in rules.group_caps.items():
        reasons += _trim(group, axis, _sum([reason for rule, reason in fired if rule.group == group]), cap)
    axis_cap = rules.cap_for(axis)
    return reasons + (_trim(axis, axis, _sum(reasons), axis_cap) if axis_cap is not None else [])


def _trim(name: str, axis: str, points: float, cap: float) -> list[Reason]:
    if points <= cap:
        return []
    evidence = f"{name} rules gave {points:g} points, capped at {cap:g}"
    return [Reason(f"{name} cap", axis, _round(cap - points), evidence)]


def qualifies(rules: ScoringRules, total: float, grade: str, was_mql: bool = False) -> bool:
    """The MQL rule before gates and recency: the threshold (the exit one for a standing MQL), grades, or both."""
    by_score = total >= rules.threshold_for(was_mql)
    by_grade = grade in (rules.mql_grades or ())
    return {"threshold": by_score, "grades": by_grade, "both": by_score and by_grade,
            "either": by_score or by_grade}[rules.rule]


def _sum(reasons: Sequence[Reason]) -> float:
    return _round(sum(reason.points for reason in reasons))


def _round(points: float) -> float:
    """Decayed points carry fractions: one decimal is what a person reads, and sums stay free of float noise."""
    return round(points, POINT_DIGITS)


def _failed_gates(plan: _Plan, facts: Facts) -> list[str]:
    return [label for label, test in plan.gates if test(facts) is None]


def _recency_failure(last_engaged: datetime | None, rules: ScoringRules, now: datetime) -> list[str]:
    if last_engaged is not None and last_engaged >= now - rules.active_within:
        return []
    return [f"No engagement in the last {window_words(rules.active_within)}"]


# --- conditions --------------------------------------------------------------------------------

def holds(condition: Condition, contact: Contact, activities: Sequence[Activity],
          now: datetime) -> tuple[Seen, ...] | None:
    """What made the condition hold (its evidence), or None when it does not."""
    return compile_condition(condition)(Facts(contact, activities, now))


@dataclass(frozen=True)
class _Plan:
    """A ScoringRules with every condition compiled: (axis, rule, decay, test) in file order, then the gates."""
    rules: tuple[tuple[str, Rule, Decay | None, Compiled], ...]
    gates: tuple[tuple[str, Compiled], ...]


_PLANS: dict[int, tuple[ScoringRules, _Plan]] = {}
PLANS_KEPT = 8     # configs compiled at once: the live one, a reload, a backtest's --compare


def _plan(rules: ScoringRules) -> _Plan:
    """The rules compiled once. Keyed by identity (the models hold dicts, so they do not hash); the
    entry keeps the rules alive so their id is not reused while cached."""
    kept = _PLANS.get(id(rules))
    if kept is not None and kept[0] is rules:
        return kept[1]
    plan = _Plan(tuple((axis, rule, rules.decay_for(rule), compile_condition(rule.when))
                       for axis in AXES for rule in rules.rules_of(axis)),
                 tuple((gate.label, compile_condition(gate.when)) for gate in rules.gates))
    while len(_PLANS) >= PLANS_KEPT:     # pop with a default: another thread may have evicted it first
        _PLANS.pop(next(iter(_PLANS), None), None)
    _PLANS[id(rules)] = (rules, plan)
    return plan


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
