"""scoring.yaml: the MQL definition (threshold, recency window, fit and engagement rules, gates)."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from bot.rules.conditions import Condition, uses_activity, why_never_holds
from bot.rules.durations import WallDuration
from bot.rules.validation import Number, Strict

Finding = tuple[tuple, str]   # (key path, message): a warning before the file and line are known


def _label(value: str) -> str:
    if not value.strip():
        raise ValueError("a label is required: it is what reps and reports see")
    return value.strip()


Label = Annotated[str, AfterValidator(_label)]

class FitRule(Strict):
    """Points for who they are: contact and company properties only, so fit never decays."""
    label: Label
    points: Number
    when: Condition

    @field_validator("when")
    @classmethod
    def _properties_only(cls, when: Condition) -> Condition:
        if uses_activity(when):
            raise ValueError("fit is about who they are: use property conditions here and put "
                             "activity conditions under engagement")
        return when


class EngagementRule(Strict):
    """Points for what they did; `high_intent` puts the lead in the fast lane."""
    label: Label
    points: Number
    high_intent: bool = False
    when: Condition


class Gate(Strict):
    """A condition every MQL must meet whatever its score (the written quality standard)."""
    label: Label
    when: Condition


class ScoringRules(Strict):
    """The whole MQL definition; more keys (decay, caps, grades) can be added beside these."""
    mql_threshold: Number = Field(gt=0)
    active_within: WallDuration = timedelta(days=30)
    fit: tuple[FitRule, ...] = ()
    engagement: tuple[EngagementRule, ...] = ()
    gates: tuple[Gate, ...] = ()

    def max_points(self) -> float:
        """The most points any contact could get: every positive rule firing at once."""
        return sum(rule.points for rule in (*self.fit, *self.engagement) if rule.points > 0)


SCORING_MODELS = (ScoringRules, FitRule, EngagementRule, Gate)


def scoring_warnings(rules: ScoringRules) -> list[Finding]:
    """Rules that can never fire, gates nobody passes, a threshold nobody reaches, reused labels."""
    findings: list[Finding] = []
    for section in ("fit", "engagement", "gates"):
        for index, rule in enumerate(getattr(rules, section)):
            if reason := why_never_holds(rule.when):
                what = "nobody can pass this gate, so nobody becomes an MQL" if section == "gates" \
                    else "this rule can never fire"
                findings.append(((section, index, "when"), f"{what}: {reason}"))
    if rules.mql_threshold > rules.max_points():
        findings.append((("mql_threshold",), f"nobody can reach {rules.mql_threshold:g} points: all rules "
                                             f"together give at most {rules.max_points():g}"))
    return findings + _reused_labels(rules)


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
