"""YAML to plain data, remembering where every key and value came from.

``yaml.compose`` gives every node a start mark; we walk the node tree ourselves
so that duplicate keys are errors (PyYAML silently keeps the last one) and
every path maps to ``file:line:col``.

Plain scalars are read as YAML 1.2 (the core schema, as editors using the JSON
Schema read them), not PyYAML's YAML 1.1: ``yes``/``on`` are strings, not
booleans; ``1:30`` and ``2026-01-01`` are strings; ``010`` is ten. Values that
JSON cannot hold (``.inf``, ``.nan``, binary, sets, other tags) are errors.
"""

from __future__ import annotations

import math
import re
from dataclasses import field
from typing import Any

import yaml

from gatekit.errors import ConfigIssue
from gatekit.lazyclass import dataclass

PathKey = tuple[str | int, ...]

_Y = "tag:yaml.org,2002:"
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INT_LIMIT = 2**63 - 1  # larger integers do not survive a round trip through most JSON readers
_MAX_VALUES = 100_000  # aliases of aliases can expand a small file into billions of values


class _TooManyValues(Exception):
    pass


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's implicit types (plus ``<<`` merges)."""


_Yaml12Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", _INT.pattern, "-+0123456789"),
    ("float", _FLOAT.pattern, "-+.0123456789"),
    ("merge", r"^<<$", "<"),
):
    _Yaml12Loader.add_implicit_resolver(
        _Y + _tag, re.compile(_regexp), [*_first, ""] if _tag == "null" else list(_first)
    )


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_Y) if tag.startswith(_Y) else tag


def _one_line(exc: yaml.YAMLError) -> tuple[int, int, str]:
    """(line, col, problem) of a PyYAML error, without its multi-line snippet."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "malformed YAML"
        if exc.context:
            problem = f"{exc.context}, {problem}"
        return (mark.line + 1, mark.column + 1, problem) if mark else (1, 1, problem)
    if isinstance(exc, yaml.reader.ReaderError):
        char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        return 1, 1, f"unacceptable character {char!r}: {exc.reason}"
    return 1, 1, str(exc).splitlines()[0] if str(exc) else "malformed YAML"


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
        self.bad_spots: set[tuple[str, int, int]] = set()
        self.count = 0
        self._constructor = _Yaml12Loader("")

    def issue(self, loc: Location, path: PathKey, message: str) -> None:
        self.issues.append(ConfigIssue(loc.file, loc.line, loc.col, format_path(path), message))

    def walk(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > _MAX_VALUES:
            raise _TooManyValues
        loc = _loc(self.file, node.start_mark, path)
        self.positions.values[path] = loc
        if isinstance(node, yaml.MappingNode):
            if node.tag != _Y + "map":
                self._bad(loc, path, f"unsupported YAML tag '{_short_tag(node.tag)}'")
            merged = self._flatten(node, path)
            result: dict[str, Any] = {}
            written: set[str] = set()
            for n, (key_node, value_node) in enumerate(node.value):
                key_loc = _loc(self.file, key_node.start_mark)
                if not isinstance(key_node, yaml.ScalarNode):
                    self.issue(key_loc, path, "a key must be a plain string, not a list or mapping")
                    continue
                key = str(self._constructor.construct_scalar(key_node))
                child = (*path, key)
                # keys a '<<' merge brings in come first; keys written here override them
                if n >= merged and key in written:
                    first = self.positions.keys[child]
                    self.issue(
                        key_loc,
                        child,
                        f"duplicate key '{key}' (first written at line {first.line})",
                    )
                    continue
                if n >= merged:
                    written.add(key)
                self.positions.keys[child] = _loc(self.file, key_node.start_mark, child)
                result[key] = self.walk(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _Y + "seq":
                self._bad(loc, path, f"unsupported YAML tag '{_short_tag(node.tag)}'")
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, loc, path)

    def _flatten(self, node: yaml.MappingNode, path: PathKey) -> int:
        """Resolve ``<<`` merge keys in place; the number of merged (leading) pairs."""
        written = sum(1 for k, _ in node.value if k.tag != _Y + "merge")
        try:
            self._constructor.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            line, col, problem = _one_line(exc)
            self.issues.append(
                ConfigIssue(self.file, line, col, format_path(path), f"invalid YAML: {problem}")
            )
            node.value = [(k, v) for k, v in node.value if k.tag != _Y + "merge"]
            return 0
        return len(node.value) - written

    def _scalar(self, node: yaml.Node, loc: Location, path: PathKey) -> Any:
        tag, text = node.tag, str(node.value)
        if tag in (_Y + "str", _Y + "timestamp"):
            return text
        if tag == _Y + "null" and text in ("", "~", "null", "Null", "NULL"):
            return None
        if tag == _Y + "bool" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if tag == _Y + "int" and _INT.match(text):
            value = int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)
            if abs(value) <= _INT_LIMIT:
                return value
            return self._bad(loc, path, f"integer {text} is too large", text)
        if tag == _Y + "float" and _FLOAT.match(text):
            number = float(text)
            if math.isfinite(number):
                return number
            return self._bad(loc, path, f"number {text} is too large", text)
        if tag in (_Y + "null", _Y + "bool", _Y + "int", _Y + "float"):
            return self._bad(loc, path, f"cannot read {text!r} as {_short_tag(tag)}", text)
        return self._bad(loc, path, f"unsupported YAML tag '{_short_tag(tag)}'", text)

    def _bad(
        self, loc: Location, path: PathKey, message: str, text: str | None = None
    ) -> str | None:
        """Report a value YAML cannot give as plain data; later checks skip its spot.

        The value stays present (as its text) so that checks of the keys
        around it do not report it as missing.
        """
        self.issue(loc, path, message)
        self.bad_spots.add((loc.file, loc.line, loc.col))
        return text


@dataclass
class YamlDocument:
    data: Any
    positions: Positions
    issues: list[ConfigIssue]
    bad_spots: set[tuple[str, int, int]] = field(default_factory=set)  # values already reported


def load_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document; syntax errors and duplicate keys become issues.

    An empty document (nothing, a comment, ``~``) is an empty mapping.
    """
    try:
        node = yaml.compose(text, Loader=_Yaml12Loader)
    except yaml.YAMLError as exc:
        line, col, problem = _one_line(exc)
        if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.position, int):
            line = text.count("\n", 0, exc.position) + 1
            col = exc.position - text.rfind("\n", 0, exc.position)
        return YamlDocument(
            None, Positions(), [ConfigIssue(file, line, col, "", f"invalid YAML: {problem}")]
        )
    except RecursionError:
        return YamlDocument(
            None, Positions(), [ConfigIssue(file, 1, 1, "", "invalid YAML: nested too deeply")]
        )
    if node is None or (
        isinstance(node, yaml.ScalarNode)
        and node.tag == _Y + "null"
        and node.value in ("", "~", "null", "Null", "NULL")
    ):
        return YamlDocument({}, Positions({(): Location(file, 1, 1, ())}), [])
    walker = _Walker(file)
    try:
        data = walker.walk(node, ())
    except RecursionError:
        walker.issues.append(ConfigIssue(file, 1, 1, "", "invalid YAML: nested too deeply"))
        data = None
    except _TooManyValues:
        message = f"the document expands to more than {_MAX_VALUES} values (aliases of aliases?)"
        walker.issues.append(ConfigIssue(file, 1, 1, "", message))
        data = None
    return YamlDocument(data, walker.positions, walker.issues, walker.bad_spots)
