"""What is wrong with a config file, said so that marketing ops can fix it: file, line, key, words."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One error or warning found in a config file; `line` is 1-based, None when unknown."""
    file: str
    line: int | None
    key: str
    message: str
    severity: str = "error"   # or "warning": reported, but the config still loads

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        kind = "warning: " if self.severity == "warning" else ""
        key = f"{self.key}: " if self.key else ""
        return f"{where}: {kind}{key}{self.message}"


class ConfigError(Exception):
    """The config cannot be used; `problems` lists every error found, one line each in str()."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
