"""The config files read, validated and checked together; every problem reported at once."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel

from bot.rules.calendars import calendar_problems
from bot.rules.conditions import ActivityCondition, AllCondition, AnyCondition, PropertyCondition
from bot.rules.problems import ConfigError, Problem
from bot.rules.reports import REPORTS_MODELS, ReportsDoc, ReportsRules
from bot.rules.routing import ROUTING_MODELS, RoutingDoc, RoutingRules, routing_warnings
from bot.rules.scoring import SCORING_MODELS, ScoringRules, scoring_errors, scoring_warnings
from bot.rules.sla import SLA_MODELS, SlaDoc, SlaRules
from bot.rules.validation import known_keys, validate_file
from bot.rules.yamlfile import YamlFile, format_path, line_of, read_yaml

CONFIG_FILES = ("scoring.yaml", "routing.yaml", "sla.yaml")   # required
OPTIONAL_FILES = {"reports.yaml": ReportsRules()}   # absent: no MQL target, the default review schedule
_VOCABULARY = known_keys((*SCORING_MODELS, *ROUTING_MODELS, *SLA_MODELS, *REPORTS_MODELS,
                          PropertyCondition, ActivityCondition, AllCondition, AnyCondition))


@dataclass(frozen=True)
class Config:
    """Everything marketing ops configure; `warnings` were found but do not stop the service."""
    scoring: ScoringRules
    routing: RoutingRules
    sla: SlaRules
    warnings: tuple[Problem, ...] = ()
    reports: ReportsRules = ReportsRules()


@dataclass(frozen=True)
class _Section:
    model: type[BaseModel]
    finish: Callable[[Any], Any]                    # validated document -> the rules the code uses
    warnings: Callable[[Any], list[tuple[tuple, str]]]
    errors: Callable[[Any], list[tuple[tuple, str]]] = lambda doc: []   # keys that contradict each other


_SECTIONS = {
    "scoring.yaml": _Section(ScoringRules, lambda doc: doc, scoring_warnings, scoring_errors),
    "routing.yaml": _Section(RoutingDoc, RoutingDoc.to_rules, routing_warnings),
    "sla.yaml": _Section(SlaDoc, SlaDoc.to_rules, lambda doc: []),
    "reports.yaml": _Section(ReportsDoc, ReportsDoc.to_rules, lambda doc: []),
}


def check_config(directory: str | Path) -> list[Problem]:
    """Every error and warning in the config directory, in file order; never raises."""
    return _read_config(directory)[1]


def load_config(directory: str | Path) -> Config:
    """The validated config; ConfigError lists every error at once (warnings ride along on Config)."""
    config, problems = _read_config(directory)
    errors = [problem for problem in problems if problem.severity == "error"]
    if errors or config is None:
        raise ConfigError(errors)
    return config


def config_fingerprint(directory: str | Path) -> str:
    """A digest of every YAML file's name and bytes in the directory: it changes when any of them does."""
    digest = hashlib.sha256()
    for path in sorted(Path(directory).glob("*.y*ml")):
        digest.update(path.name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError as error:
            digest.update(f"unreadable: {error.__class__.__name__}".encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _read_config(directory: str | Path) -> tuple[Config | None, list[Problem]]:
    results, problems = {}, []
    for name in (*CONFIG_FILES, *OPTIONAL_FILES):
        path = Path(directory) / name
        if name in OPTIONAL_FILES and not path.exists():
            results[name] = OPTIONAL_FILES[name]
            continue
        rules, found = _read_section(path, _SECTIONS[name])
        results[name] = rules
        problems += found
    problems += calendar_problems(Path(directory) / "sla.yaml", results["sla.yaml"], results["routing.yaml"])
    if any(rules is None for rules in results.values()):
        return None, problems
    warnings = tuple(problem for problem in problems if problem.severity == "warning")
    sla = results["sla.yaml"]
    return Config(results["scoring.yaml"], results["routing.yaml"], sla, warnings,
                  reports=results["reports.yaml"].in_zone(sla.timezone)), problems


def _read_section(path: Path, section: _Section) -> tuple[Any, list[Problem]]:
    source, problems = read_yaml(path)
    if source is None:
        return None, problems
    document, errors = validate_file(section.model, source, _VOCABULARY)
    if document is None:
        return None, problems + sorted(errors, key=lambda problem: problem.line or 0)
    problems += _found(source, section.errors(document), "error")
    warnings = _found(source, section.warnings(document), "warning")
    return (section.finish(document) if not problems else None), problems + warnings


def _found(source: YamlFile, findings: list[tuple[tuple, str]], severity: str) -> list[Problem]:
    problems = [Problem(source.name, line_of(source.root, path), format_path(path), message, severity)
                for path, message in findings]
    return sorted(problems, key=lambda problem: problem.line or 0)
