"""pydantic's validation errors turned into Problems a marketing-ops person can act on."""
from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Iterable

from pydantic import AllowInfNan, BaseModel, BeforeValidator, ConfigDict, ValidationError

from bot.rules.problems import Problem
from bot.rules.yamlfile import YamlFile, format_path, line_of

TAG_MARK = "~"   # discriminated-union tags start with this; they are not keys a person wrote
_SHARE = re.compile(r"(\d+(?:\.\d+)?)\s*%")

_PLAIN_WORDS = {
    "missing": "this key is required",
    "int_type": "expected a whole number", "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number", "float_parsing": "expected a number",
    "finite_number": "expected a number (not infinity or NaN)",
    "bool_type": "expected true or false", "bool_parsing": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list (lines starting with -)", "tuple_type": "expected a list (lines starting with -)",
    "dict_type": "expected keys with values (key: value lines)",
    "model_type": "expected keys with values (key: value lines)",
    "model_attributes_type": "expected keys with values (key: value lines)",
    "invalid_key": "a key must be text: YAML reads a bare on, off, yes or no as true/false (quote it, or see the docs)",
}
_WITH_CONTEXT = {
    "greater_than": "must be more than {gt}", "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}", "less_than_equal": "must be at most {le}",
    "too_short": "needs at least {min_length} item(s)", "literal_error": "expected {expected}",
}


def _not_a_bool(value: Any) -> Any:
    # YAML reads yes/no/on/off as booleans, and Python counts True as 1: never a number here.
    if isinstance(value, bool):
        raise ValueError(f"expected a number (got {str(value).lower()})")
    return value


Number = Annotated[float, BeforeValidator(_not_a_bool), AllowInfNan(False)]   # YAML has .inf and .nan


def parse_share(value: Any) -> float | None:
    """ "150%" -> 1.5; None when the value is not written as a percentage."""
    match = _SHARE.fullmatch(value.strip()) if isinstance(value, str) else None
    return float(match[1]) / 100 if match else None


class Strict(BaseModel):
    """Every config model: unknown keys are errors, values are immutable once loaded."""
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              arbitrary_types_allowed=True)


def known_keys(models: Iterable[type[BaseModel]]) -> set[str]:
    """Every key a person may write, for "did you mean" hints."""
    return {field.alias or name for model in models for name, field in model.model_fields.items()}


def validate_file(model: type[BaseModel], source: YamlFile, vocabulary: set[str]) -> tuple[Any, list[Problem]]:
    """The validated model, or None and one Problem per error pydantic found."""
    if not isinstance(source.data, dict):
        found = "empty" if source.data is None else "not a list of key: value lines"
        return None, [Problem(source.name, line_of(source.root, ()), "",
                              f"the file is {found}; see docs/config.md for the keys it needs")]
    try:
        return model.model_validate(source.data), []
    except ValidationError as error:
        return None, [_problem(source, item, vocabulary) for item in error.errors()]


def _problem(source: YamlFile, error: dict, vocabulary: set[str]) -> Problem:
    path = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith(TAG_MARK))]
    path = [part for part in path if part != "[key]"]
    return Problem(source.name, line_of(source.root, path), format_path(path), _words(error, path, vocabulary))


def _words(error: dict, path: list, vocabulary: set[str]) -> str:
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(str(path[-1]) if path else "", vocabulary)
    if kind in ("value_error", "assertion_error") and "error" in context:
        return str(context["error"])   # our own validators word their messages, value included
    if kind in _WITH_CONTEXT:
        words = _WITH_CONTEXT[kind].format(**context)
    else:
        words = _PLAIN_WORDS.get(kind, error["msg"])
    value = error.get("input")
    if kind != "missing" and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        words += f" (got {value!r})"
    return words


def _unknown_key(key: str, vocabulary: set[str]) -> str:
    # A key known elsewhere (`when` is a territory's) is simply not one of this place's: no hint of itself.
    close = difflib.get_close_matches(key, sorted(vocabulary - {key}), n=1, cutoff=0.7)
    hint = f"did you mean `{close[0]}`?" if close else "not a key here: check docs/config.md"
    return f"unknown key; {hint}"
