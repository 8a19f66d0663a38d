"""PURE: what marketing should change in scoring.yaml, learnt from what the SDRs decided (`python -m bot tune`
and the review in Slack). Suggestions are words for a person; nothing here ever edits the file.

The ledger's rows (bot.ledger) are read as the scores the leads had when they became MQLs, and counted with
the backtest's own running counts (bot.backtest.Tally): the lift of a rule and the threshold sweep mean the
same thing in both commands. An SQL counts as converted; not yet, no response and disqualified do not; a lead
not decided yet is left out of every rate.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Iterable

from bot.backtest import FEW, Rate, Tally, outcome_converted, threshold_sweep
from bot.models import Reason, Score
from bot.rules.scoring import AXES, ScoringRules

MIN_LEADS = FEW              # decided leads a rule needs before its rate is judged (the backtest's "read with care")
LOWER_AT = 2 / 3             # a rule whose leads convert at most this share of the overall rate: lower its points
RAISE_AT = 1.5               # ... at least this multiple of the overall rate: raise them
MAX_FACTOR = 2.0             # one review at most doubles (or halves, for a penalty) a rule's points
CUT_AT_LEAST = 0.15          # a higher threshold is worth suggesting when it cuts this share of MQLs or more
LOSE_AT_MOST = 0.05          # ... while losing at most this share of SQLs
OUTCOME_WORDS = {"sql": "SQL", "not_yet": "Not yet", "no_response": "No response", "disqualified": "Disqualified"}

LOWER, RAISE, STRONGER, SOFTER, THRESHOLD, TOO_FEW, NO_DATA = (
    "lower", "raise", "stronger_penalty", "softer_penalty", "threshold", "not_enough_data", "no_data")


@dataclass(frozen=True)
class Suggestion:
    """One edit to scoring.yaml (or why none can be made), in words marketing ops act on."""
    kind: str       # lower | raise | stronger_penalty | softer_penalty | threshold | not_enough_data | no_data
    words: str
    rule: str | None = None          # the rule's label; None: the threshold, the whole period, rules nobody decided
    current: float | None = None     # the rule's points, or mql_threshold
    suggested: float | None = None


@dataclass(frozen=True)
class RuleLift:
    """How the leads a rule fired for turned out."""
    label: str
    points: float | None             # None: the ledger names a rule scoring.yaml no longer has
    leads: int                       # MQLs in the period it fired for
    decided: int
    sql: int
    rate: float | None
    lift: float | None               # rate ÷ the overall rate
    top_dq_reason: str | None
    top_dq_count: int


@dataclass
class Tuning:
    """Everything `tune` shows: outcomes, each rule's lift, the threshold sweep and the suggestions."""
    mqls: int
    decided: int
    sql: int
    outcomes: list[tuple[str, int]]
    lifts: list[RuleLift]
    sweep: list[tuple[int, int, int]]   # (threshold, MQLs kept, SQLs kept)
    threshold: float
    sweep_note: str | None
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.sql / self.decided if self.decided else None


@dataclass
class _Counts:
    """The backtest's tally of the period, plus what it does not keep: outcomes and DQ reasons per rule."""
    tally: Tally
    outcomes: Counter = field(default_factory=Counter)
    dq_reasons: dict = field(default_factory=lambda: defaultdict(Counter))   # rule label -> reason -> leads


def suggest(rows: Iterable[dict], scoring: ScoringRules, min_leads: int = MIN_LEADS) -> list[Suggestion]:
    """Suggested edits to scoring.yaml from ledger rows (bot.ledger.ledger_rows), best evidence first."""
    return analyse(rows, scoring, min_leads).suggestions


def analyse(rows: Iterable[dict], scoring: ScoringRules, min_leads: int = MIN_LEADS) -> Tuning:
    """Count the period's leads once, then read lifts, the sweep and the suggestions off the counts."""
    counts = _count(rows, scoring)
    tally = counts.tally
    tuning = Tuning(mqls=tally.mqls, decided=tally.overall.known, sql=tally.overall.converted,
                    outcomes=counts.outcomes.most_common(), lifts=_lifts(counts, scoring),
                    sweep=_sweep(tally), threshold=scoring.mql_threshold, sweep_note=_sweep_note(scoring))
    tuning.suggestions = _suggestions(tuning, scoring, min_leads)
    return tuning


def _count(rows: Iterable[dict], scoring: ScoringRules) -> _Counts:
    counts = _Counts(Tally(scoring))
    for row in rows:
        decision, reason = row.get("decision"), row.get("decision_reason")
        score = _score_at_mql(row)
        counts.tally.add(score, decision, outcome_converted(decision))
        if decision:
            counts.outcomes[_outcome_words(decision, reason)] += 1
        if decision == "disqualified":
            for fired in score.reasons:
                counts.dq_reasons[fired.rule][reason or "no reason given"] += 1
    return counts


def _score_at_mql(row: dict) -> Score:
    """The lead's score as the ledger remembers it: its total and the rules that fired (no per-rule points,
    grades or gates, which the lift and the threshold sweep do not need)."""
    labels = [label for label in (row.get("rules_fired") or "").split("; ") if label]
    return Score(contact_id=str(row.get("contact_id")), total=float(row.get("score") or 0), fit=0.0, engagement=0.0,
                 is_mql=True, high_intent=bool(row.get("high_intent")),
                 reasons=tuple(Reason(label, "", 0.0, "") for label in labels), gates_failed=(),
                 last_engaged_at=None, summary="", computed_at=_moment(row.get("mql_at")))


def _moment(text: str | None) -> datetime:
    return datetime.fromisoformat(text) if text else datetime.min


def _outcome_words(decision: str, reason: str | None) -> str:
    words = OUTCOME_WORDS.get(decision, decision)
    return f"{words}: {reason}" if reason and decision == "disqualified" else words


# --- lifts and the sweep --------------------------------------------------------------------------

def _lifts(counts: _Counts, scoring: ScoringRules) -> list[RuleLift]:
    """Every rule in scoring.yaml (in file order), then any rule the ledger names that the file no longer has."""
    points = {rule.label: rule.points for axis in AXES for rule in scoring.rules_of(axis)}
    caps = {f"{name} cap" for name in (*AXES, *scoring.group_caps)}   # the scorer's trims, not rules
    gone = sorted(label for label in counts.tally.fired_count if label not in points and label not in caps)
    return [_lift(counts, label, points.get(label)) for label in (*points, *gone)]


def _lift(counts: _Counts, label: str, points: float | None) -> RuleLift:
    tally = counts.tally
    rate, overall = tally.fired.get(label, Rate()), tally.overall.share()
    share = rate.share()
    reasons = counts.dq_reasons.get(label, Counter()).most_common(1)
    top, top_count = reasons[0] if reasons else (None, 0)
    return RuleLift(label, points, tally.fired_count[label], rate.known, rate.converted, share,
                    share / overall if share is not None and overall else None, top, top_count)


def _sweep(tally: Tally) -> list[tuple[int, int, int]]:
    """The backtest's sweep over the period's MQL scores: only thresholds above the current one tell anything,
    since the ledger holds no contact that fell short of it."""
    if tally.rules.rule != "threshold" or not tally.mqls:
        return []
    current = math.ceil(tally.rules.mql_threshold)
    return [(threshold, kept, rate.converted) for threshold, kept, rate in threshold_sweep(tally)
            if threshold >= current]


def _sweep_note(scoring: ScoringRules) -> str | None:
    if scoring.rule == "threshold":
        return None
    return (f"no threshold sweep: the MQL rule uses grade cells (mql_rule: {scoring.rule}), and the ledger keeps "
            "each lead's score, not its grade")


# --- the suggestions ------------------------------------------------------------------------------

def _suggestions(tuning: Tuning, scoring: ScoringRules, min_leads: int) -> list[Suggestion]:
    if not tuning.decided:
        return [Suggestion(NO_DATA, "No lead in the period has been decided yet (SQL, not yet, no response or "
                                    "disqualified): nothing to learn from.")]
    if tuning.decided < min_leads:
        return [Suggestion(NO_DATA, f"Only {tuning.decided} decided leads in the period: not enough data to "
                                    f"suggest changes (it takes {min_leads}).")]
    if not tuning.sql:
        return [Suggestion(NO_DATA, f"None of the {tuning.decided} decided leads became SQL: no rule can be "
                                    "compared with the rest. Review the MQL definition with Sales.")]
    rules = [lift for lift in tuning.lifts if lift.points is not None]
    judged = [s for s in (_rule_suggestion(lift, tuning, min_leads) for lift in rules if lift.decided) if s]
    changes = sorted((s for s in judged if s.kind != TOO_FEW), key=lambda s: -_evidence(tuning, s.rule))
    threshold = _threshold_suggestion(tuning)
    return changes + ([threshold] if threshold else []) + [s for s in judged if s.kind == TOO_FEW] + \
        _unseen([lift.label for lift in rules if not lift.decided])


def _unseen(labels: list[str]) -> list[Suggestion]:
    """Rules no decided lead had, in one sentence (one line each would bury the suggestions in a review)."""
    if not labels:
        return []
    names = ", ".join(f"'{label}'" for label in labels[:-1]) + (" and " if len(labels) > 1 else "") + f"'{labels[-1]}'"
    return [Suggestion(TOO_FEW, f"{names} fired for no decided lead in the period: nothing to judge yet.")]


def _evidence(tuning: Tuning, label: str | None) -> float:
    """How strongly a rule's numbers speak: decided leads times how far its rate is from the overall one."""
    lift = next((lift for lift in tuning.lifts if lift.label == label), None)
    return lift.decided * abs(math.log(max(lift.lift, 0.01))) if lift and lift.lift is not None else 0.0


def _rule_suggestion(lift: RuleLift, tuning: Tuning, min_leads: int) -> Suggestion | None:
    if lift.decided < min_leads:
        return Suggestion(TOO_FEW, f"'{lift.label}': only {lift.decided} decided leads: not enough data to judge "
                                   f"(it takes {min_leads}).", lift.label, lift.points)
    if not lift.points or LOWER_AT < lift.lift < RAISE_AT:
        return None
    kind, new = suggested_points(lift.points, lift.lift, tuning.threshold)
    if new == lift.points:
        return None
    return Suggestion(kind, _rule_words(lift, tuning, kind, new), lift.label, lift.points, new)


def suggested_points(points: float, lift: float, threshold: float) -> tuple[str, float]:
    """(kind, new points): points scaled by the rule's rate ÷ the overall rate, rounded, within MAX_FACTOR.

    A penalty (negative points) scales the other way: leads that convert badly despite it need a bigger one.
    A raise stops at mql_threshold: whether one rule alone makes an MQL is for people to decide.
    """
    if points > 0:
        new = round(points * min(lift, MAX_FACTOR))
        return (RAISE, min(new, max(points, math.floor(threshold)))) if lift > 1 else (LOWER, new)
    factor = min(1 / lift, MAX_FACTOR) if lift > 0 else MAX_FACTOR
    return (STRONGER if factor > 1 else SOFTER), round(points * factor)


def _rule_words(lift: RuleLift, tuning: Tuning, kind: str, new: float) -> str:
    seen = (f"'{lift.label}' leads became SQL {_pct(lift.rate)} of the time vs {_pct(tuning.rate)} overall "
            f"({lift.sql} of {lift.decided} decided)")
    action = {LOWER: f"lower its points from {_points(lift.points)} to {_points(new)}"
                     + (" (that is, drop the rule)" if new == 0 else ""),
              RAISE: f"raise its points from {_points(lift.points)} to {_points(new)}",
              STRONGER: f"make its penalty stronger, from {_points(lift.points)} to {_points(new)}",
              SOFTER: f"soften its penalty, from {_points(lift.points)} to {_points(new)}"}[kind]
    # The disqualification reasons explain a rule that brings the wrong people; a raise needs no excuse.
    return f"{seen}: {action}{_dq_words(lift) if kind in (LOWER, STRONGER) else ''}."


def _dq_words(lift: RuleLift) -> str:
    if not lift.top_dq_count:
        return ""
    share = f"({lift.top_dq_count} of {lift.decided})"
    if lift.top_dq_count * 2 > lift.decided:
        return f"; most of its leads were disqualified as '{lift.top_dq_reason}' {share}"
    return f"; the reason its leads were most often disqualified: '{lift.top_dq_reason}' {share}"


def _threshold_suggestion(tuning: Tuning) -> Suggestion | None:
    """The threshold cutting the most MQLs while losing few SQLs (the lowest of equals: no data says more), if any."""
    chosen = None
    for threshold, kept, sql in tuning.sweep:
        cut, lost = tuning.mqls - kept, tuning.sql - sql
        if threshold > tuning.threshold and cut >= CUT_AT_LEAST * tuning.mqls and lost <= LOSE_AT_MOST * tuning.sql \
                and (chosen is None or cut > chosen[1]):
            chosen = (threshold, cut, lost)
    if chosen is None:
        return None
    threshold, cut, lost = chosen
    words = (f"Raising mql_threshold from {_points(tuning.threshold)} to {threshold} would have cut {cut} of "
             f"{tuning.mqls} MQLs ({_pct(cut / tuning.mqls)}) and lost {lost} of {tuning.sql} SQLs "
             f"({_pct(lost / tuning.sql)}): Sales would spend their time on fewer, better leads.")
    return Suggestion(THRESHOLD, words, None, tuning.threshold, threshold)


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.0f}%"


def _points(value: float) -> str:
    return f"{value:g}"


# --- output -----------------------------------------------------------------------------------------

def render_text(tuning: Tuning, period: str = "") -> str:
    """The terminal report: outcomes, the lift table, the sweep, then the suggestions."""
    head = f"What marketing should change{' · ' + period if period else ''}"
    if not tuning.mqls:
        return f"{head}\n  No lead became an MQL in this period: nothing to tune.\n"
    sections = [head + f"\n  {tuning.mqls} MQLs · {tuning.decided} decided · {tuning.sql} SQL "
                       f"({_pct(tuning.rate)} of decided)",
                _outcome_lines(tuning), _lift_lines(tuning), _sweep_lines(tuning), _suggestion_lines(tuning)]
    return "\n\n".join(filter(None, sections)) + "\n"


def _outcome_lines(tuning: Tuning) -> str:
    if not tuning.outcomes:
        return ""
    width = max(len(words) for words, _ in tuning.outcomes)
    return "\n".join(["SDR outcomes"] + [f"  {words:<{width}}  {count:>6}  {_pct(count / tuning.decided):>4}"
                                          for words, count in tuning.outcomes])


def _lift_lines(tuning: Tuning) -> str:
    width = max([len(lift.label) for lift in tuning.lifts] + [4])
    lines = [f"Rule lift (SQL rate where the rule fired ÷ {_pct(tuning.rate)} overall)",
             f"  {'rule':<{width}}  points   MQLs  decided   SQL  rate   lift"]
    for lift in tuning.lifts:
        points = "gone" if lift.points is None else _points(lift.points)
        ratio = f"{lift.lift:.2f}×" if lift.lift is not None else "–"
        lines.append(f"  {lift.label:<{width}}  {points:>6}  {lift.leads:>5}  {lift.decided:>7}  {lift.sql:>4}  "
                     f"{_pct(lift.rate):>4}  {ratio:>5}")
    if any(lift.points is None for lift in tuning.lifts):
        lines.append("  gone: the ledger names a rule scoring.yaml no longer has (renamed or removed)")
    return "\n".join(lines)


def _sweep_lines(tuning: Tuning) -> str:
    if tuning.sweep_note:
        return f"Threshold sweep: {tuning.sweep_note}"
    lines = ["Threshold sweep (the period's MQLs, had they needed this score)",
             "  threshold  MQLs kept  SQLs kept"]
    current = math.ceil(tuning.threshold)
    lines += [f"  {threshold:>9}  {kept:>9}  {sql:>9}" + ("  ◀ current" if threshold == current else "")
              for threshold, kept, sql in tuning.sweep]
    return "\n".join(lines)


def _suggestion_lines(tuning: Tuning) -> str:
    lines = ["Suggestions (never applied on their own: edit scoring.yaml, then run python -m bot check-config)"]
    lines += [f"  • {suggestion.words}" for suggestion in tuning.suggestions] or ["  • None: every rule that "
                                                                                  "can be judged converts near the "
                                                                                  "overall rate."]
    return "\n".join(lines)


def to_json(tuning: Tuning) -> dict[str, Any]:
    """The same as a JSON object, for the review and for BI tools."""
    return {"mqls": tuning.mqls, "decided": tuning.decided, "sql": tuning.sql, "sql_rate": tuning.rate,
            "outcomes": dict(tuning.outcomes), "rules": [asdict(lift) for lift in tuning.lifts],
            "mql_threshold": tuning.threshold, "sweep_note": tuning.sweep_note,
            "sweep": [{"threshold": t, "mqls_kept": kept, "sqls_kept": sql} for t, kept, sql in tuning.sweep],
            "suggestions": [asdict(suggestion) for suggestion in tuning.suggestions]}
