"""Checks pydantic cannot express: ids, needs, cycles, globs, durations, runners.

They read the raw (merged) data, tolerant of wrong types (pydantic reports
those), so that every mistake in a file is reported in one go.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from typing import Any

from gatekit.config.durations import is_cores, parse_cores, parse_duration
from gatekit.config.sizes import parse_size
from gatekit.config.suggest import did_you_mean
from gatekit.config.validate import _describe
from gatekit.config.yamlsource import PathKey, Positions, format_path
from gatekit.errors import ConfigIssue
from gatekit.globs import GlobError, check_glob

RUNNER_KEYS = ("session", "nox", "builtin", "pre-commit")
UNLIMITED = "unlimited"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Checker:
    def __init__(self, positions: Positions, known_builtins: tuple[str, ...] | None) -> None:
        self.positions = positions
        self.known_builtins = known_builtins
        self.issues: list[ConfigIssue] = []

    def add(self, path: PathKey, message: str, *, at_key: bool = False) -> None:
        loc = self.positions.key_at(path) if at_key else self.positions.value_at(path)
        file, line, col = (loc.file, loc.line, loc.col) if loc else ("validation.yaml", 1, 1)
        self.issues.append(
            ConfigIssue(file, line, col, format_path(self.positions.origin(path)), message)
        )

    # -- whole document -------------------------------------------------
    def check(self, data: dict[str, Any]) -> list[ConfigIssue]:
        defaults = data.get("defaults")
        for key in ("timeout", "stall_timeout", "watchdog"):
            if isinstance(defaults, dict) and key in defaults:
                self._duration(("defaults", key), defaults[key])
        if isinstance(defaults, dict):
            self._limits(("defaults", "limits"), defaults.get("limits"))
        gates = [g if isinstance(g, dict) else {} for g in _as_list(data.get("gates"))]
        ids = self.check_ids(gates)
        raw = _as_list(data.get("gates"))
        for i, gate in enumerate(gates):
            if isinstance(raw[i], dict):  # anything else: the model reports its type
                self._gate(i, gate, ids)
        self._cycles(gates)
        return self.issues

    def check_ids(self, gates: list[dict[str, Any]]) -> dict[str, int]:
        ids: dict[str, int] = {}
        for i, gate in enumerate(gates):
            gate_id = gate.get("id")
            if not isinstance(gate_id, str):
                continue
            if gate_id in ids:
                first = self.positions.value_at(("gates", ids[gate_id], "id"))
                where = f" (first defined at line {first.line})" if first else ""
                self.add(("gates", i, "id"), f"duplicate gate id '{gate_id}'{where}")
            else:
                ids[gate_id] = i
        return ids

    # -- one gate ---------------------------------------------------------
    def _gate(self, i: int, gate: dict[str, Any], ids: dict[str, int]) -> None:
        base: PathKey = ("gates", i)
        gate_type = gate.get("type", "auto")
        runners = [k for k in RUNNER_KEYS if gate.get(k) is not None]
        if gate_type == "manual":
            for k in runners:
                self.add(
                    (*base, k), f"a manual gate does not run anything: remove '{k}'", at_key=True
                )
            if not gate.get("instructions"):
                self.add(base, "a manual gate needs 'instructions' saying what a person must do")
        elif not runners:
            self.add(
                base,
                "a gate must say how it runs: one of 'session', 'nox', 'builtin' or 'pre-commit' (or type: manual)",
            )
        elif len(runners) > 1:
            self.add(
                (*base, runners[1]),
                f"a gate runs one way only: choose one of {', '.join(repr(r) for r in runners)}",
                at_key=True,
            )
        if (
            gate_type == "conditional"
            and gate.get("when") is None
            and gate.get("required") is not True
        ):
            self.add(base, "a conditional gate needs a 'when' (or required: true)")
        if gate_type == "auto" and gate.get("when") is not None:
            self.add(
                (*base, "when"),
                "an auto gate runs on every check and ignores 'when': use type: conditional",
                at_key=True,
            )
        for key in ("timeout", "stall_timeout"):
            if key in gate:
                self._duration((*base, key), gate[key])
        self._limits((*base, "limits"), gate.get("limits"))
        for j, need in enumerate(_as_list(gate.get("needs"))):
            if isinstance(need, str) and need not in ids:
                hint = did_you_mean(need, ids)
                self.add((*base, "needs", j), f"unknown gate '{need}'{hint}")
        self._globs((*base, "paths"), gate.get("paths"))
        self._globs((*base, "junit"), gate.get("junit"))
        when = gate.get("when")
        if isinstance(when, dict):
            self._globs((*base, "when", "changed"), when.get("changed"))
            self._globs((*base, "when", "branch"), when.get("branch"))
            for path, name in _names((*base, "when", "env"), when.get("env")):
                self._env_name(path, name, "an env flag")
        builtin = gate.get("builtin")
        if (
            isinstance(builtin, str)
            and self.known_builtins is not None
            and builtin not in self.known_builtins
        ):
            self.add(
                (*base, "builtin"),
                f"unknown built-in gate '{builtin}'{did_you_mean(builtin, self.known_builtins)}",
            )
        env = gate.get("env")
        if isinstance(env, dict):
            for key in env:
                self._env_name((*base, "env", key), key, "an environment variable", at_key=True)
        for path, name in _names((*base, "pass_env"), gate.get("pass_env")):
            self._env_name(path, name, "an environment variable")
        retries = gate.get("retries")
        if isinstance(retries, dict):
            for j, pattern in enumerate(_as_list(retries.get("patterns"))):
                if isinstance(pattern, str):
                    try:
                        re.compile(pattern)
                    except (re.error, OverflowError, RecursionError) as exc:
                        self.add(
                            (*base, "retries", "patterns", j), f"invalid regular expression: {exc}"
                        )

    def _duration(self, path: PathKey, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return  # a wrong type: the model reports it
        try:
            parse_duration(value)
        except ValueError as exc:
            self.add(path, str(exc))

    def _limits(self, path: PathKey, value: Any) -> None:
        if not isinstance(value, dict):
            return  # absent, or a wrong type: the model reports it
        for key in ("memory", "disk"):
            size = value.get(key)
            if isinstance(size, int | str) and not isinstance(size, bool) and size != UNLIMITED:
                try:
                    parse_size(size)
                except ValueError as exc:
                    self.add((*path, key), str(exc))
        for key in ("processes", "open_files"):
            count = value.get(key)
            if isinstance(count, int) and not isinstance(count, bool) and count < 1:
                self.add((*path, key), f"must be at least 1 (or 'unlimited'), got {count}")
        if "cpu" in value and value["cpu"] not in (None, UNLIMITED):
            if is_cores(value["cpu"]):
                try:
                    parse_cores(value["cpu"])
                except ValueError as exc:
                    self.add((*path, "cpu"), str(exc))
            else:
                self._duration((*path, "cpu"), value["cpu"])

    def _globs(self, path: PathKey, value: Any) -> None:
        for item_path, pattern in _names(path, value):
            try:
                check_glob(pattern)
            except GlobError as exc:
                self.add(item_path, f"bad glob '{pattern}': {exc}")

    def _env_name(self, path: PathKey, name: str, what: str, *, at_key: bool = False) -> None:
        if not _ENV_NAME.match(name):
            self.add(
                path,
                f"'{name}' is not a valid name for {what} (letters, digits, '_')",
                at_key=at_key,
            )

    # -- needs cycles -----------------------------------------------------
    def _cycles(self, gates: list[dict[str, Any]]) -> None:
        graph: dict[str, list[str]] = {}
        where: dict[str, int] = {}
        for i, gate in enumerate(gates):
            gate_id = gate.get("id")
            if isinstance(gate_id, str) and gate_id not in graph:
                graph[gate_id] = [n for n in _as_list(gate.get("needs")) if isinstance(n, str)]
                where[gate_id] = i
        for cycle in find_cycles(graph):
            start = cycle[0]
            self.add(
                ("gates", where[start], "needs"), "needs cycle: " + " -> ".join([*cycle, start])
            )


def find_cycles(graph: dict[str, list[str]]) -> Iterator[list[str]]:
    """Each elementary cycle once, reported from its first gate in declaration order."""
    order = {name: i for i, name in enumerate(graph)}
    seen: set[frozenset[str]] = set()
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> Iterator[list[str]]:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    rot = min(range(len(cycle)), key=lambda k: order[cycle[k]])
                    yield cycle[rot:] + cycle[:rot]
            elif state.get(nxt) is None:
                yield from visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in graph:
        if state.get(name) is None:
            yield from visit(name, [])


def check_layer_meta(data: dict[str, Any], add: Callable[[PathKey, str], None]) -> None:
    """Per-file keys (a merge drops them, so the model never sees them): their types, the date."""
    extends = data.get("extends")
    items: list[tuple[PathKey, Any]] = []
    if isinstance(extends, list):
        items = [(("extends", j), v) for j, v in enumerate(extends)]
    elif extends is not None:
        items = [(("extends",), extends)]
    for path, value in items:
        if not isinstance(value, str):
            add(path, f"expected a policy 'gatekit:NAME' or a file path, got {_describe(value)}")
    version = data.get("policy_version")
    if version is not None and not isinstance(version, str):
        add(("policy_version",), f"expected a string, got {_describe(version)}")
    effective = data.get("effective")
    if effective is not None and not (isinstance(effective, str) and _is_date(effective)):
        shown = f"'{effective}'" if isinstance(effective, str) else _describe(effective)
        add(("effective",), f"expected a date YYYY-MM-DD, got {shown}")


def _is_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _names(path: PathKey, value: Any) -> Iterator[tuple[PathKey, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for j, item in enumerate(value):
            if isinstance(item, str):
                yield (*path, j), item
