"""Find, read, merge (``extends``) and validate validation.yaml."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gatekit.config.checks import Checker, check_layer_meta
from gatekit.config.merge import Layer, merge_layers
from gatekit.config.models import ValidationConfig
from gatekit.config.precommit_layer import EXTENDS_NAME, PRE_COMMIT_CONFIG, hook_gates
from gatekit.config.suggest import did_you_mean
from gatekit.config.validate import validate_model
from gatekit.config.yamlsource import Location, PathKey, Positions, format_path, load_yaml
from gatekit.errors import ConfigError, ConfigIssue, UsageError
from gatekit.lazyclass import dataclass
from gatekit.plan.model import PolicyRef
from gatekit.resources import policies_dir, shipped_policies

CONFIG_NAMES = ("validation.yaml", "validation.yml")
DEFAULT_POLICY = "gatekit:default"
POLICY_PREFIX = "gatekit:"


@dataclass(frozen=True)
class LoadedConfig:
    config: ValidationConfig
    policies: tuple[PolicyRef, ...]
    source: str  # the file the user wrote, or the default policy's name


def find_config(root: Path, override: str | None) -> Path | None:
    if override is not None:
        path = Path(override)
        if not path.is_file():
            raise UsageError(f"config file not found: {override}")
        return path
    for name in CONFIG_NAMES:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def load_config(root: Path, override: str | None = None) -> LoadedConfig:
    """The merged, validated configuration; ConfigError lists every mistake."""
    path = find_config(root, override)
    loader = _ChainLoader(root)
    if path is None:
        layers = loader.load_policy(DEFAULT_POLICY, None, ())
        source = DEFAULT_POLICY
        if _is_file(root / PRE_COMMIT_CONFIG):  # no validation.yaml: the hooks are gates
            layers += loader.load_pre_commit(None)
    else:
        loader.roots.append(path.resolve().parent)
        layers = loader.load_file(path.resolve(), _display(path), None, ())
        source = _display(path)
    if not layers:
        raise ConfigError(loader.issues or [ConfigIssue(source, 1, 1, "", "nothing to load")])
    merged = merge_layers([layer for layer, _ in layers])
    later = Checker(merged.positions, _known_builtins()).check(merged.data)
    config, model_issues = validate_model(merged.data, merged.positions, source)
    later.extend(model_issues)
    # a value the YAML reader already reported is not reported again
    issues = loader.issues + [i for i in later if (i.file, i.line, i.col) not in loader.bad_spots]
    if issues or config is None:
        raise ConfigError(issues)
    return LoadedConfig(config, tuple(ref for _, ref in layers), source)


def _known_builtins() -> tuple[str, ...] | None:
    try:
        from gatekit.builtins import known_builtins
    except ImportError:
        return None
    return tuple(known_builtins())


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), Path.cwd())
    except ValueError:
        return str(path)


class _ChainLoader:
    """Loads a file and, first, everything it extends (depth first, in order)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.roots = [self.root]  # where extended files may be (see _allowed)
        self.issues: list[ConfigIssue] = []
        self.bad_spots: set[tuple[str, int, int]] = set()

    def load_policy(
        self, name: str, at: Location | None, stack: tuple[Path, ...]
    ) -> list[tuple[Layer, PolicyRef]]:
        short = name.removeprefix(POLICY_PREFIX)
        path = policies_dir() / f"{short}.yaml"
        if not short or "/" in short or not _is_file(path):
            known = [POLICY_PREFIX + p for p in shipped_policies()]
            hint = did_you_mean(name, known) or f" (shipped policies: {', '.join(known)})"
            loc = at or Location("validation.yaml", 1, 1)
            self.issues.append(
                ConfigIssue(
                    loc.file, loc.line, loc.col, "extends", f"unknown policy '{name}'{hint}"
                )
            )
            return []
        return self.load_file(path, f"policies/{short}.yaml", name, stack, at)

    def load_pre_commit(self, at: Location | None) -> list[tuple[Layer, PolicyRef]]:
        """A gate per hook of the repository's .pre-commit-config.yaml."""
        path = self.root / PRE_COMMIT_CONFIG
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            loc = at or Location("validation.yaml", 1, 1)
            self.issues.append(
                ConfigIssue(
                    loc.file,
                    loc.line,
                    loc.col,
                    "extends",
                    f"cannot read {PRE_COMMIT_CONFIG}: {exc}",
                )
            )
            return []
        doc = load_yaml(text, PRE_COMMIT_CONFIG)
        self.issues.extend(doc.issues)
        gates = hook_gates(doc.data)
        positions = Positions()
        top = Location(PRE_COMMIT_CONFIG, 1, 1)
        tops: list[PathKey] = [(), ("version",), ("gates",)]
        for path_key in tops:
            positions.values[path_key] = top
            positions.keys[path_key] = top
        for i, (gate, where) in enumerate(gates):
            loc = doc.positions.value_at(where) or top
            positions.values[("gates", i)] = loc
            for name in gate:
                positions.values[("gates", i, name)] = loc
                positions.keys[("gates", i, name)] = loc
        data = {"version": 1, "gates": [g for g, _ in gates]}
        ref = PolicyRef(name=PRE_COMMIT_CONFIG, policy_version=None, effective=None)
        return [(Layer(data, positions), ref)]

    def load_file(
        self,
        path: Path,
        display: str,
        policy_name: str | None,
        stack: tuple[Path, ...],
        at: Location | None = None,
    ) -> list[tuple[Layer, PolicyRef]]:
        if path in stack:
            chain = " -> ".join(p.name for p in (*stack, path))
            where = at or Location(display, 1, 1, ("extends",))
            self.issues.append(
                ConfigIssue(
                    where.file,
                    where.line,
                    where.col,
                    format_path(where.path),
                    f"extends cycle: {chain}",
                )
            )
            return []
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.issues.append(ConfigIssue(display, 1, 1, "", f"cannot read the file: {exc}"))
            return []
        doc = load_yaml(text, display)
        self.issues.extend(doc.issues)
        self.bad_spots |= doc.bad_spots
        if doc.data is None:
            return []
        data = doc.data
        if not isinstance(data, dict):
            self.issues.append(
                ConfigIssue(
                    display,
                    1,
                    1,
                    "",
                    "the file must be a mapping with keys such as 'version' and 'gates'",
                )
            )
            return []
        layers: list[tuple[Layer, PolicyRef]] = []
        for ext_path, ext in _extends(data.get("extends")):
            loc = doc.positions.value_at(ext_path)
            if ext.startswith(POLICY_PREFIX):
                layers += self.load_policy(ext, loc, (*stack, path))
                continue
            if ext == EXTENDS_NAME:
                layers += self.load_pre_commit(loc)
                continue
            target = path.parent / ext
            problem = None
            if not self._allowed(target):
                problem = f"{ext!r} is outside the repository (an extended file must be in it)"
            elif not _is_file(target):
                problem = f"extended file not found: {ext}"
            if problem is not None:
                where = loc or Location(display, 1, 1)
                self.issues.append(
                    ConfigIssue(where.file, where.line, where.col, format_path(ext_path), problem)
                )
                continue
            target = target.resolve()
            layers += self.load_file(target, _display(target), None, (*stack, path), loc)
        self._check_own(data, doc.positions)
        ref = PolicyRef(
            name=policy_name or _repo_relative(path, self.root),
            policy_version=_str_or_none(data.get("policy_version")),
            effective=_str_or_none(data.get("effective")),
        )
        layers.append((Layer(data, doc.positions), ref))
        return layers

    def _allowed(self, target: Path) -> bool:
        """Whether ``target`` (symlinks followed) lies in the repository, or beside the
        configuration file named on the command line: nothing else is ever read."""
        try:
            real = Path(os.path.realpath(target))
        except (OSError, ValueError):
            return False
        return any(real == r or r in real.parents for r in self.roots)

    def _check_own(self, data: dict[str, Any], positions: Positions) -> None:
        """Per-file checks that a merge would hide: duplicate ids, the date."""
        checker = Checker(positions, None)
        gates = data.get("gates")
        if isinstance(gates, list):
            checker.check_ids([g if isinstance(g, dict) else {} for g in gates])
        check_layer_meta(data, checker.add)
        self.issues.extend(checker.issues)


def _extends(value: Any) -> list[tuple[PathKey, str]]:
    if isinstance(value, str):
        return [(("extends",), value)]
    if isinstance(value, list):
        return [(("extends", i), v) for i, v in enumerate(value) if isinstance(v, str)]
    return []


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for names no file can have (NUL bytes, too long)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _repo_relative(path: Path, root: Path) -> str:
    """A file's name in the plan: relative to the repository root, whatever the cwd."""
    return Path(os.path.relpath(path, root)).as_posix()


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
