"""YAML to plain data, remembering where every key and value came from.

``yaml.compose`` gives every node a start mark; we walk the node tree ourselves
so that duplicate keys are errors (PyYAML silently keeps the last one) and
every path maps to ``file:line:col``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from gatekit.errors import ConfigIssue

PathKey = tuple[str | int, ...]

# YAML timestamps become strings: a date such as 2026-01-01 is data, not a datetime.
_AS_STRING_TAGS = {"tag:yaml.org,2002:timestamp"}


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    col: int
    path: PathKey = ()  # the path in its own file (merging may renumber gates)


@dataclass
class Positions:
    """Where each value (and each mapping key) of a document was written."""

    values: dict[PathKey, Location] = field(default_factory=dict)
    keys: dict[PathKey, Location] = field(default_factory=dict)

    def value_at(self, path: PathKey) -> Location | None:
        """The location of ``path``, or of its nearest written ancestor."""
        for end in range(len(path), -1, -1):
            loc = self.values.get(path[:end])
            if loc is not None:
                return loc
        return None

    def key_at(self, path: PathKey) -> Location | None:
        return self.keys.get(path) or self.value_at(path)

    def origin(self, path: PathKey) -> PathKey:
        """``path`` as written in its own file (gate indexes before merging)."""
        for end in range(len(path), -1, -1):
            loc = self.values.get(path[:end])
            if loc is not None:
                return loc.path + path[end:]
        return path

    def copy_subtree(self, src: Positions, old: PathKey, new: PathKey) -> None:
        n = len(old)
        for table, source in ((self.values, src.values), (self.keys, src.keys)):
            for path, loc in source.items():
                if path[:n] == old:
                    table[new + path[n:]] = loc


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _loc(file: str, mark: Any, path: PathKey = ()) -> Location:
    return Location(file, mark.line + 1, mark.column + 1, path)


class _Walker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions = Positions()
        self.issues: list[ConfigIssue] = []
        self._constructor = yaml.SafeLoader("")

    def issue(self, loc: Location, path: PathKey, message: str) -> None:
        self.issues.append(ConfigIssue(loc.file, loc.line, loc.col, format_path(path), message))

    def walk(self, node: yaml.Node, path: PathKey) -> Any:
        loc = _loc(self.file, node.start_mark, path)
        self.positions.values[path] = loc
        if isinstance(node, yaml.MappingNode):
            self._constructor.flatten_mapping(node)
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key_loc = _loc(self.file, key_node.start_mark)
                if not isinstance(key_node, yaml.ScalarNode):
                    self.issue(key_loc, path, "a key must be a plain string, not a list or mapping")
                    continue
                key = str(self._constructor.construct_scalar(key_node))
                child = (*path, key)
                if key in result:
                    first = self.positions.keys[child]
                    self.issue(key_loc, child, f"duplicate key '{key}' (first written at line {first.line})")
                    continue
                self.positions.keys[child] = _loc(self.file, key_node.start_mark, child)
                result[key] = self.walk(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag in _AS_STRING_TAGS:
            return str(node.value)
        return self._constructor.construct_object(node, deep=True)


@dataclass
class YamlDocument:
    data: Any
    positions: Positions
    issues: list[ConfigIssue]


def load_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document; syntax errors and duplicate keys become issues."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "malformed YAML"
        if exc.context:
            problem = f"{exc.context}, {problem}"
        issue = ConfigIssue(file, line, col, "", f"invalid YAML: {problem}")
        return YamlDocument(None, Positions(), [issue])
    except yaml.YAMLError as exc:
        return YamlDocument(None, Positions(), [ConfigIssue(file, 1, 1, "", f"invalid YAML: {exc}")])
    if node is None:
        return YamlDocument({}, Positions({(): Location(file, 1, 1, ())}), [])
    walker = _Walker(file)
    try:
        data = walker.walk(node, ())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        walker.issues.append(ConfigIssue(file, line, col, "", f"invalid YAML value: {exc}"))
        data = None
    return YamlDocument(data, walker.positions, walker.issues)
