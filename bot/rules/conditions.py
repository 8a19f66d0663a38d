"""The `when:` of a scoring rule: property conditions, activity conditions, and all/any of them."""
from __future__ import annotations

import re
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from bot.models import COMPANY_PREFIX
from bot.rules.durations import WallDuration
from bot.rules.validation import TAG_MARK, Number, Strict

ACTIVITY_KINDS = ("form_submission", "page_view", "email_open", "email_click", "meeting_booked", "chat")
ActivityKind = Literal["form_submission", "page_view", "email_open", "email_click", "meeting_booked", "chat"]
EMPLOYEES = "employees"   # derived: the contact's numemployees range, else the company's numberofemployees
PROPERTY_TESTS = ("equals", "one_of", "contains", "matches", "gt", "gte", "lt", "lte", "exists", "within")
GLOB_KINDS = {"form": ("form_submission",), "url": ("page_view",), "campaign": ("email_open", "email_click")}
_INTERNAL_NAME = re.compile(r"[a-z0-9_]+")


def _property_name(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    bare = value[len(COMPANY_PREFIX):] if value.startswith(COMPANY_PREFIX) else value
    if not _INTERNAL_NAME.fullmatch(bare):
        raise ValueError(f"use HubSpot's internal property name (lowercase, like jobtitle or company.industry), "
                         f"not the label (got {value!r})")
    return value


def _scalar_text(value: Any) -> Any:
    """HubSpot sends every value as a string, so a condition compares with text: true -> "true", 50 -> "50"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if value is None or isinstance(value, (list, dict)):
        raise ValueError(f"expected one value (text or a number), got {value!r}")
    return value


def _regex(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"expected a regular expression in quotes (got {value!r})")
    try:
        return re.compile(value)
    except re.error as error:
        raise ValueError(f"not a valid regular expression: {error}") from None


PropertyName = Annotated[str, BeforeValidator(_property_name)]
Scalar = Annotated[str, BeforeValidator(_scalar_text)]
Regex = Annotated[re.Pattern, BeforeValidator(_regex)]
Glob = Annotated[str, BeforeValidator(_scalar_text)]


class PropertyCondition(Strict):
    """Holds when the property's value passes every test given (text tests ignore case)."""
    name: PropertyName = Field(alias="property")
    equals: Scalar | None = None
    one_of: tuple[Scalar, ...] | None = None
    contains: Scalar | None = None
    matches: Regex | None = None
    gt: Number | None = None
    gte: Number | None = None
    lt: Number | None = None
    lte: Number | None = None
    exists: bool | None = None
    within: WallDuration | None = None

    @model_validator(mode="after")
    def _needs_a_test(self) -> "PropertyCondition":
        if not self.tests():
            raise ValueError(f"say what to check about {self.name}: one of {', '.join(PROPERTY_TESTS)}")
        return self

    @cached_property
    def written_tests(self) -> dict[str, Any]:
        """The tests written for this property, by key, read once (the scorer asks for every contact)."""
        return self.tests()

    def tests(self) -> dict[str, Any]:
        """The tests written for this property, by key."""
        return {key: getattr(self, key) for key in PROPERTY_TESTS if getattr(self, key) is not None}


class ActivityCondition(Strict):
    """Holds when matching activities (in the window) add up to at least `at_least` (default 1)."""
    kind: ActivityKind = Field(alias="activity")
    form: Glob | None = None
    url: Glob | None = None
    campaign: Glob | None = None
    at_least: int | None = Field(default=None, ge=1)
    within: WallDuration | None = None

    @model_validator(mode="after")
    def _globs_fit_the_kind(self) -> "ActivityCondition":
        for key, kinds in GLOB_KINDS.items():
            if getattr(self, key) is not None and self.kind not in kinds:
                raise ValueError(f"`{key}` only applies to {' and '.join(kinds)}, not to {self.kind}")
        return self

    @property
    def glob(self) -> str | None:
        """The one label pattern written (form, url or campaign), if any."""
        return self.form or self.url or self.campaign


class AllCondition(Strict):
    conditions: tuple["Condition", ...] = Field(alias="all", min_length=1)


class AnyCondition(Strict):
    conditions: tuple["Condition", ...] = Field(alias="any", min_length=1)


_KINDS = {"property": PropertyCondition, "activity": ActivityCondition, "all": AllCondition, "any": AnyCondition}


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((TAG_MARK + key for key in _KINDS if key in value), None)
    return next((TAG_MARK + key for key, model in _KINDS.items() if isinstance(value, model)), None)


Condition = Annotated[
    Union[tuple(Annotated[model, Tag(TAG_MARK + key)] for key, model in _KINDS.items())],
    Discriminator(_condition_kind, custom_error_type="condition_kind",
                  custom_error_message="a condition needs `property`, `activity`, `all` or `any`"),
]
AllCondition.model_rebuild()
AnyCondition.model_rebuild()


def uses_activity(condition: Condition) -> bool:
    """Whether the condition looks at activities anywhere inside it."""
    if isinstance(condition, ActivityCondition):
        return True
    return isinstance(condition, (AllCondition, AnyCondition)) and any(map(uses_activity, condition.conditions))


def reads_values_only(condition: Condition) -> bool:
    """Whether the condition depends on property values alone: no activity and no date window (which
    depends on the moment of scoring). Its verdict for some values is the same for every contact."""
    if isinstance(condition, PropertyCondition):
        return condition.within is None
    if isinstance(condition, (AllCondition, AnyCondition)):
        return all(map(reads_values_only, condition.conditions))
    return False


def kinds_needed(condition: Condition) -> frozenset[str] | None:
    """Activity kinds of which a contact must have at least one for the condition to hold, or None when
    it may hold without any activity: the scorer passes over a rule at once for a contact with none."""
    if isinstance(condition, ActivityCondition):
        return frozenset({condition.kind})
    if isinstance(condition, AnyCondition):
        needed = [kinds_needed(child) for child in condition.conditions]
        return None if None in needed else frozenset().union(*needed)
    if isinstance(condition, AllCondition):
        return next(filter(None, map(kinds_needed, condition.conditions)), None)
    return None


def properties_used(condition: Condition) -> set[str]:
    """Every property name the condition reads, as written (`employees` and `company.x` included)."""
    if isinstance(condition, PropertyCondition):
        return {condition.name}
    if isinstance(condition, (AllCondition, AnyCondition)):
        return set().union(*map(properties_used, condition.conditions))
    return set()


def why_never_holds(condition: Condition) -> str | None:
    """Why no contact can ever pass this condition, or None when some can."""
    if isinstance(condition, PropertyCondition):
        return _impossible_property_tests(condition)
    if isinstance(condition, AllCondition):
        return next(filter(None, map(why_never_holds, condition.conditions)), None)
    if isinstance(condition, AnyCondition):
        reasons = [why_never_holds(child) for child in condition.conditions]
        return reasons[0] if all(reasons) else None
    return None


def _impossible_property_tests(condition: PropertyCondition) -> str | None:
    tests = condition.tests()
    if condition.one_of == ():
        return f"{condition.name}: one_of is an empty list"
    if condition.exists is False and len(tests) > 1:
        return f"{condition.name}: exists: false cannot be combined with another test"
    low = max(((v, k == "gt") for k, v in tests.items() if k in ("gt", "gte")), default=None)
    high = min(((v, k == "lt") for k, v in tests.items() if k in ("lt", "lte")), default=None)
    if low and high and (low[0] > high[0] or (low[0] == high[0] and (low[1] or high[1]))):
        return f"{condition.name}: no value is both above {low[0]:g} and below {high[0]:g}"
    return None


def window(condition: Condition) -> timedelta | None:
    """The condition's own `within`, if it has one."""
    return getattr(condition, "within", None)
