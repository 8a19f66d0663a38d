"""scoring.yaml: the MQL definition (threshold, recency, decay, caps, grades, fit and engagement rules, gates)."""
from __future__ import annotations

import difflib
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal, Mapping

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from bot.rules.analytics import AnalyticsEvents
from bot.rules.conditions import Condition, uses_activity, why_never_holds
from bot.rules.decay import NO_DECAY, Decay, DecaySetting
from bot.rules.durations import WallDuration
from bot.rules.grades import GRADE_MODELS, GradeCell, Grades
from bot.rules.validation import Number, Strict

Finding = tuple[tuple, str]   # (key path, message): an error or warning before the file and line are known
AXES = ("fit", "engagement")
MQL_RULES = ("threshold", "grades", "both", "either")
GRADE_RULES = ("grades", "both", "either")


def _label(value: str) -> str:
    if not value.strip():
        raise ValueError("a label is required: it is what reps and reports see")
    return value.strip()


def _group(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a group name, like web (got {value!r})")
    if value.strip() in AXES:
        raise ValueError(f"`{value.strip()}` names an axis (its cap is {value.strip()}_cap); "
                         "call the group something else")
    return value.strip()


def _fit_never_decays(value: Any) -> None:
    if value is not None:
        raise ValueError("fit points never decay (who they are does not fade); "
                         "decay belongs on engagement rules or at the top of the file")


Label = Annotated[str, AfterValidator(_label)]
Group = Annotated[str, BeforeValidator(_group)]
Cap = Annotated[Number, Field(gt=0)]


class FitRule(Strict):
    """Points for who they are: contact and company properties only, so fit never decays."""
    label: Label
    points: Number
    group: Group | None = None
    decay: Annotated[None, BeforeValidator(_fit_never_decays)] = None
    when: Condition

    @field_validator("when")
    @classmethod
    def _properties_only(cls, when: Condition) -> Condition:
        if uses_activity(when):
            raise ValueError("fit is about who they are: use property conditions here and put "
                             "activity conditions under engagement")
        return when


class EngagementRule(Strict):
    """Points for what they did; `high_intent` puts the lead in the fast lane; `decay` overrides the file's."""
    label: Label
    points: Number
    high_intent: bool = False
    group: Group | None = None
    decay: DecaySetting | None = None
    when: Condition


class Gate(Strict):
    """A condition every MQL must meet whatever its score (the written quality standard)."""
    label: Label
    when: Condition


Rule = FitRule | EngagementRule


class ScoringRules(Strict):
    """The whole MQL definition."""
    mql_threshold: Number = Field(gt=0)
    mql_exit_threshold: Number | None = Field(default=None, gt=0)
    mql_grades: tuple[GradeCell, ...] | None = Field(default=None, min_length=1)
    mql_rule: Literal[MQL_RULES] | None = None
    active_within: WallDuration = timedelta(days=30)
    decay: DecaySetting | None = None
    grades: Grades | None = None
    caps: Mapping[str, Cap] = Field(default_factory=dict)
    fit_cap: Cap | None = None
    engagement_cap: Cap | None = None
    fit: tuple[FitRule, ...] = ()
    engagement: tuple[EngagementRule, ...] = ()
    gates: tuple[Gate, ...] = ()
    analytics_events: AnalyticsEvents | None = None   # absent: HubSpot's events API is never asked

    @property
    def rule(self) -> str:
        """How the MQL test reads: threshold, grades, both or either."""
        return self.mql_rule or "threshold"

    def threshold_for(self, was_mql: bool) -> float:
        """The total to meet: mql_threshold to become an MQL, mql_exit_threshold to stay one."""
        if was_mql and self.mql_exit_threshold is not None:
            return self.mql_exit_threshold
        return self.mql_threshold

    def decay_for(self, rule: Rule) -> Decay | None:
        """How the rule's points fade: its own decay, else the file's; fit rules never decay."""
        if not isinstance(rule, EngagementRule):
            return None
        setting = rule.decay if rule.decay is not None else self.decay
        return None if setting in (None, NO_DECAY) else setting

    def cap_for(self, axis: str) -> float | None:
        """The axis's cap, written as fit_cap / engagement_cap or under caps."""
        written = getattr(self, f"{axis}_cap")
        return written if written is not None else self.caps.get(axis)

    @cached_property
    def group_caps(self) -> dict[str, float]:
        """Caps on groups of rules (not on an axis), by group name."""
        return {name: cap for name, cap in self.caps.items() if name not in AXES}

    def rules_of(self, axis: str) -> tuple[Rule, ...]:
        return self.fit if axis == "fit" else self.engagement

    def max_axis_points(self, axis: str) -> float:
        """The most points an axis can give: every positive rule firing at once, after caps."""
        groups: dict[str | None, float] = {}
        for rule in self.rules_of(axis):
            groups[rule.group] = groups.get(rule.group, 0) + max(rule.points, 0)
        caps = self.group_caps
        total = sum(min(points, caps.get(name, points)) if name else points for name, points in groups.items())
        cap = self.cap_for(axis)
        return total if cap is None else min(total, cap)

    def max_points(self) -> float:
        """The most points any contact could get: every positive rule firing at once, after caps."""
        return sum(self.max_axis_points(axis) for axis in AXES)


SCORING_MODELS = (ScoringRules, FitRule, EngagementRule, Gate, Decay, AnalyticsEvents, *GRADE_MODELS)


def scoring_errors(rules: ScoringRules) -> list[Finding]:
    """Keys that contradict each other: the file is refused, as with any other error."""
    return _mql_rule_errors(rules) + _cap_errors(rules) + _group_errors(rules)


def _mql_rule_errors(rules: ScoringRules) -> list[Finding]:
    if rules.mql_grades is not None and rules.mql_rule is None:
        return [(("mql_grades",), "say how the grade cells combine with mql_threshold: add "
                                  "mql_rule: grades, both or either")]
    if rules.mql_rule in GRADE_RULES and rules.mql_grades is None:
        return [(("mql_rule",), f"`{rules.mql_rule}` needs mql_grades, the grade cells that make "
                                "an MQL (like [A1, A2, B1])")]
    if rules.mql_grades is not None and rules.grades is None:
        return [(("mql_grades",), "grade cells need `grades:`, the fit and engagement points of each grade "
                                  "(see docs/scoring.md)")]
    return []


def _cap_errors(rules: ScoringRules) -> list[Finding]:
    findings: list[Finding] = [((f"{axis}_cap",), f"the {axis} cap is written twice (as {axis}_cap and "
                                                  f"caps.{axis}); keep one")
                               for axis in AXES if getattr(rules, f"{axis}_cap") is not None and axis in rules.caps]
    groups = sorted({rule.group for axis in AXES for rule in rules.rules_of(axis) if rule.group})
    for name in rules.group_caps:
        if name not in groups:
            close = difflib.get_close_matches(name, groups, n=1, cutoff=0.6)
            hint = f"; did you mean `{close[0]}`?" if close else " (caps name a rule's `group:` or an axis)"
            findings.append((("caps", name), f"no rule has `group: {name}`{hint}"))
    return findings


def _group_errors(rules: ScoringRules) -> list[Finding]:
    """A group's points must all land on one axis, or its cap could not say which axis it trims."""
    fit_groups = {rule.group for rule in rules.fit if rule.group}
    return [(("engagement", index, "group"), f"the group `{rule.group}` already holds fit rules; a group "
                                             "is all fit or all engagement rules")
            for index, rule in enumerate(rules.engagement) if rule.group in fit_groups]


def scoring_warnings(rules: ScoringRules) -> list[Finding]:
    """Rules that can never fire, gates nobody passes, thresholds, grades and caps nobody reaches, reused labels."""
    findings: list[Finding] = []
    for section in ("fit", "engagement", "gates"):
        for index, rule in enumerate(getattr(rules, section)):
            if reason := why_never_holds(rule.when):
                what = "nobody can pass this gate, so nobody becomes an MQL" if section == "gates" \
                    else "this rule can never fire"
                findings.append(((section, index, "when"), f"{what}: {reason}"))
    if rules.rule != "grades" and rules.mql_threshold > rules.max_points():
        findings.append((("mql_threshold",), f"nobody can reach {rules.mql_threshold:g} points: all rules "
                                             f"together give at most {rules.max_points():g}"))
    return findings + _reused_labels(rules) + _threshold_warnings(rules) + _grade_warnings(rules) + \
        _cap_warnings(rules) + _decay_warnings(rules)


def _threshold_warnings(rules: ScoringRules) -> list[Finding]:
    exit_threshold = rules.mql_exit_threshold
    if exit_threshold is None:
        return []
    if rules.rule == "grades":
        return [(("mql_exit_threshold",), "has no effect with mql_rule: grades (it lowers the threshold a "
                                          "lead must keep, and grades alone decide here)")]
    if exit_threshold > rules.mql_threshold:
        return [(("mql_exit_threshold",), f"{exit_threshold:g} is above mql_threshold ({rules.mql_threshold:g}): "
                                          "a lead scoring between the two becomes an MQL and drops out on its "
                                          "next score; set it at or below mql_threshold")]
    return []


def _grade_warnings(rules: ScoringRules) -> list[Finding]:
    findings: list[Finding] = []
    if rules.mql_grades is not None and rules.mql_rule == "threshold":
        findings.append((("mql_grades",), "not used: mql_rule is threshold (write grades, both or either "
                                          "to use them)"))
    if rules.grades is None:
        return findings
    for axis in AXES:
        bands, most = getattr(rules.grades, axis), rules.max_axis_points(axis)
        top, high = bands.NAMES[0], bands.bounds()[0]
        if high > most:
            findings.append((("grades", axis, top), f"no contact can reach {high:g} {axis} points ({axis} rules "
                                                    f"give at most {most:g}), so nobody is graded {top}"))
    return findings


def _cap_warnings(rules: ScoringRules) -> list[Finding]:
    """A cap at or above what its rules can give never trims anything: a typo, or a rule since removed."""
    written = [(("caps", name), name, cap) for name, cap in rules.caps.items()]
    written += [((f"{axis}_cap",), axis, getattr(rules, f"{axis}_cap")) for axis in AXES]
    findings: list[Finding] = []
    for path, name, cap in written:
        chosen = rules.rules_of(name) if name in AXES else \
            [rule for axis in AXES for rule in rules.rules_of(axis) if rule.group == name]
        most = sum(max(rule.points, 0) for rule in chosen)
        if cap is not None and chosen and cap >= most:
            findings.append((path, f"the cap never applies: its rules give at most {most:g} points"))
    return findings


def _decay_warnings(rules: ScoringRules) -> list[Finding]:
    return [(("engagement", index, "decay"), "has no effect: the rule looks at no activity, so its points "
                                             "have no age to decay with")
            for index, rule in enumerate(rules.engagement)
            if isinstance(rule.decay, Decay) and not uses_activity(rule.when)]


def _reused_labels(rules: ScoringRules) -> list[Finding]:
    """Points rules share one namespace (reasons), gates another (failed gates); a gate may echo a fit rule."""
    findings: list[Finding] = []
    for sections in (("fit", "engagement"), ("gates",)):
        seen: set[str] = set()
        for section in sections:
            for index, rule in enumerate(getattr(rules, section)):
                if rule.label in seen:
                    findings.append(((section, index, "label"), f"the label {rule.label!r} is used twice; "
                                                                 "reasons and reports could not tell them apart"))
                seen.add(rule.label)
    return findings
