"""Reading one YAML file safely, and finding the line where a key path is written."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.rules.problems import Problem


@dataclass(frozen=True)
class YamlFile:
    """A parsed file: the plain data (safe_load semantics) and its node tree, for line numbers."""
    name: str
    data: Any
    root: Node | None


def read_yaml(path: Path) -> tuple[YamlFile | None, list[Problem]]:
    """The file parsed, or None with the problems (missing, unreadable, not YAML, duplicate keys)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(name, None, "", "file not found")]
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(name, None, "", f"cannot read the file ({error.__class__.__name__}: {error})")]
    try:
        # safe_load builds only plain data: a !!python/... tag is refused, never run.
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return None, [_yaml_problem(name, error)]
    except ValueError as error:   # a date that does not exist (2026-12-32): PyYAML raises it with no line
        return None, [_impossible_date(name, root, error)]
    return YamlFile(name, data, root), _duplicate_keys(name, root)


def _yaml_problem(name: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(error, "problem", None) or str(error)
    if "could not determine a constructor" in problem:
        return Problem(name, line, "", "only plain YAML is allowed here: tags like !!python/... are refused")
    return Problem(name, line, "", f"this is not valid YAML: {problem}")


def _impossible_date(name: str, root: Node | None, error: ValueError) -> Problem:
    """The first unquoted date in the file that no calendar has, at its line and key."""
    loader = yaml.SafeLoader("")
    for node, path in _walk(root, ()):
        if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:timestamp":
            try:
                loader.construct_yaml_timestamp(node)
            except ValueError:
                return Problem(name, node.start_mark.line + 1, format_path(path),
                               f"{node.value!r} is not a date like 2025-12-26 ({error})")
    return Problem(name, None, "", f"this is not valid YAML: {error}")


def _duplicate_keys(name: str, root: Node | None) -> list[Problem]:
    """YAML quietly keeps the last of two equal keys; a config author never means that."""
    problems: list[Problem] = []
    for node, path in _walk(root, ()):
        seen: set[str] = set()
        for key, _ in node.value if isinstance(node, MappingNode) else ():
            if key.value in seen:
                problems.append(Problem(name, key.start_mark.line + 1, format_path(path + (key.value,)),
                                        "this key is written twice; keep one (YAML would silently use the last)"))
            seen.add(key.value)
    return problems


def _walk(node: Node | None, path: tuple):
    if node is None:
        return
    yield node, path
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield from _walk(value, path + (key.value,))
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _walk(item, path + (index,))


def line_of(root: Node | None, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest part of `path` that is written in the file (a key's own line)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in path:
        found = _child(node, part)
        if found is None:
            break
        line, node = found[0].start_mark.line + 1, found[1]
    return line


def _child(node: Node | None, part: str | int) -> tuple[Node, Node] | None:
    """(where the part is written, its value) or None."""
    if isinstance(node, MappingNode):
        return next(((k, v) for k, v in node.value if k.value == str(part)), None)
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], node.value[part]
    return None


def format_path(path: Sequence[str | int]) -> str:
    """('escalation', 1, 'at') -> 'escalation[1].at'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
