"""`grades:` fit A/B/C × engagement 1/2/3, and the grade cells (`A1`) an MQL rule may name."""
from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Callable, ClassVar

from pydantic import BeforeValidator, Field, model_validator

from bot.rules.validation import Number, Strict

FIT_GRADES, ENGAGEMENT_GRADES = ("A", "B", "C"), ("1", "2", "3")
_CELL = re.compile(r"[ABC][123]")


def _grade_cell(value: Any) -> Any:
    text = value.strip().upper() if isinstance(value, str) else value
    if not (isinstance(text, str) and _CELL.fullmatch(text)):
        raise ValueError("expected a grade cell like A1 or B2: a fit grade A, B or C, then an engagement "
                         f"grade 1, 2 or 3 (got {value!r})")
    return text


GradeCell = Annotated[str, BeforeValidator(_grade_cell)]


class _Bands(Strict):
    """Points at or above which the top grade, then the middle grade, is given; below both, the last."""
    NAMES: ClassVar[tuple[str, str, str]]
    FIELDS: ClassVar[tuple[str, str]]        # the top and middle grades' field names

    @model_validator(mode="before")
    @classmethod
    def _keys_as_written(cls, value: Any) -> Any:
        # YAML reads the key 1 as a number and lets a person write a; the grades are "1" and "A".
        return {str(key).upper(): item for key, item in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _top_above_middle(self) -> "_Bands":
        (top, middle, _), (high, low) = self.NAMES, self.bounds()
        if high <= low:
            raise ValueError(f"{top} needs more points than {middle} (got {top}: {high:g}, {middle}: {low:g})")
        return self

    def bounds(self) -> tuple[float, float]:
        """The points the top grade needs, and the middle grade."""
        return getattr(self, self.FIELDS[0]), getattr(self, self.FIELDS[1])

    @cached_property
    def grader(self) -> Callable[[float], str]:
        """Points -> this axis's grade, the bounds read once: the scorer grades every contact."""
        (high, low), (top, middle, bottom) = self.bounds(), self.NAMES
        return lambda points: top if points >= high else middle if points >= low else bottom


class FitBands(_Bands):
    NAMES, FIELDS = FIT_GRADES, ("a", "b")
    a: Number = Field(alias="A")
    b: Number = Field(alias="B")


class EngagementBands(_Bands):
    NAMES, FIELDS = ENGAGEMENT_GRADES, ("one", "two")
    one: Number = Field(alias="1")
    two: Number = Field(alias="2")


class Grades(Strict):
    """Fit grade × engagement grade, from the points of each axis."""
    fit: FitBands
    engagement: EngagementBands

    def grade(self, fit: float, engagement: float) -> str:
        """ "A1" … "C3"."""
        return self.grader(fit, engagement)

    @cached_property
    def grader(self) -> Callable[[float, float], str]:
        """grade as a plain function (the scorer grades every contact)."""
        fit, engagement = self.fit.grader, self.engagement.grader
        return lambda fit_points, engagement_points: fit(fit_points) + engagement(engagement_points)


GRADE_MODELS = (Grades, FitBands, EngagementBands)
