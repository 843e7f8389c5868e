"""A cache of compiled plans, so that repeated checks skip YAML, validation and compiling.

Start-up is on every commit's critical path: reading validation.yaml imports
PyYAML and the config checks and validates the models (tens of ms). A plan is
a pure function of the configuration files, the context and gatekit's own code,
so it can be kept:

* ``<gatekit dir>/plans/config-<S>.json`` (S: digest of gatekit's version, a
  stamp of its planning code, and which file is the configuration) lists the
  files the configuration was built from (the file itself, what it
  ``extends``, shipped policies) with the sha256 of their bytes, and the env
  flag names it reads. It is only trusted while every file still has those
  bytes; then the configuration is known valid without reading it.
* ``<gatekit dir>/plans/plan-<K>.json`` (K: S + those digests + the context) is
  the plan's canonical JSON. It is used only when its ``plan_id`` still matches
  its body and its context is the one asked for.

Anything missing, stale or unreadable is a miss: the caller loads and compiles
as without a cache (same errors, same order), then stores the result. Entries
hold no absolute paths (names relative to the repository root, or
``gatekit:NAME``); the directory is pruned to the newest :data:`KEEP` plans.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekit import __version__, canonical
from gatekit.atomicfile import keep_newest, save_quietly

if TYPE_CHECKING:
    from gatekit.config.loader import LoadedConfig
    from gatekit.plan.model import GatePlan, PlanContext

FORMAT = 1
KEEP = 64
# Same names, same order as gatekit.config.loader.CONFIG_NAMES (a test keeps them equal);
# repeated here so that a cache hit does not import the loader (and PyYAML).
CONFIG_NAMES = ("validation.yaml", "validation.yml")
POLICY_PREFIX = "gatekit:"
_PACKAGE = Path(__file__).resolve().parent.parent
# gatekit's code that decides what a plan contains: a change to it (an editable
# install has no new version number) must not serve an old plan.
_PLANNING_CODE = (
    "config",
    "plan",
    "builtins/__init__.py",
    "globs.py",
    "__init__.py",
    "resources.py",
)


def _code_stamp() -> list[Any]:
    """(path, mtime, size) of the planning code; taken once per process (a daemon takes it
    before forking workers, and goes stale when any of its sources changes)."""
    global _STAMP
    if _STAMP is None:
        _STAMP = _take_code_stamp()
    return _STAMP


_STAMP: list[Any] | None = None


def _take_code_stamp() -> list[Any]:
    stamp: list[Any] = []
    for name in _PLANNING_CODE:
        path = _PACKAGE / name
        files = sorted(path.glob("*.py")) if path.is_dir() else [path]
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            stamp.append([f.relative_to(_PACKAGE).as_posix(), st.st_mtime_ns, st.st_size])
    return stamp


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (OSError, ValueError):
        return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_atomic(path: Path, text: str) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
    save_quietly(path, text)


class PlanCache:
    """Plans of one repository's configuration; see the module docstring."""

    def __init__(self, cache_dir: Path, root: Path, config_path: str | None) -> None:
        self.dir = cache_dir
        self.root = root
        main = self._main_config(config_path)
        self._source_key: str | None = None
        self._deps: list[list[str]] | None = None
        self.flags: tuple[str, ...] | None = None  # env flag names, when the config is known valid
        if main is None:
            return
        self._source_key = canonical.digest(
            {"format": FORMAT, "gatekit": __version__, "code": _code_stamp(), "config": main}
        )
        entry = _read_json(self._config_file())
        if not isinstance(entry, dict) or not self._deps_unchanged(entry.get("deps")):
            return
        flags = entry.get("flags")
        if isinstance(flags, list) and all(isinstance(f, str) for f in flags):
            self._deps = entry["deps"]
            self.flags = tuple(flags)

    def _main_config(self, override: str | None) -> str | None:
        """Which file is the configuration (as the loader finds it); None: let the loader decide."""
        if override is not None:
            path = Path(override)
            if not path.is_file():
                return None  # the loader reports it
            return "file:" + str(path.resolve())
        for name in CONFIG_NAMES:
            if (self.root / name).is_file():
                return "root:" + name
        # no validation.yaml: a .pre-commit-config.yaml adds a gate per hook (the loader's rule)
        return (
            "default+pre-commit" if (self.root / ".pre-commit-config.yaml").is_file() else "default"
        )

    def _config_file(self) -> Path:
        return self.dir / f"config-{self._source_key}.json"

    def _dep_path(self, name: str) -> Path:
        if name.startswith(POLICY_PREFIX):
            from gatekit.resources import policies_dir

            return policies_dir() / f"{name.removeprefix(POLICY_PREFIX)}.yaml"
        return self.root / name

    def _deps_unchanged(self, deps: Any) -> bool:
        if not isinstance(deps, list) or not deps:
            return False
        for item in deps:
            if not (
                isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)
            ):
                return False
            if _sha256(self._dep_path(item[0])) != item[1]:
                return False
        return True

    def _plan_file(self, context: PlanContext) -> Path | None:
        if self._source_key is None or self._deps is None:
            return None
        key = canonical.digest(
            {
                "source": self._source_key,
                "deps": self._deps,
                "context": context.model_dump(mode="json"),
            }
        )
        return self.dir / f"plan-{key}.json"

    # -- lookups ------------------------------------------------------------------------

    def context(
        self,
        event: str,
        branch: str | None,
        changed: Sequence[str] | None,
        environ: Mapping[str, str],
        all_paths: bool = False,
    ) -> PlanContext:
        """The plan context, as ``gatekit.plan.compile.make_context`` builds it (needs ``flags``)."""
        from gatekit.config.enums import Event
        from gatekit.plan.model import PlanContext

        assert self.flags is not None
        return PlanContext(
            event=Event(event),
            branch=branch,
            changed=None if changed is None else tuple(sorted(set(changed))),
            env={name: environ[name] for name in self.flags if name in environ},
            all_paths=all_paths,
        )

    def get(self, context: PlanContext) -> GatePlan | None:
        path = self._plan_file(context)
        if path is None:
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return None
        from gatekit.plan.model import GatePlan

        try:
            plan = GatePlan.from_json(text)
        except ValueError:
            return None
        if plan.context != context or canonical.digest(plan.body()) != plan.plan_id:
            return None
        return plan

    # -- stores -------------------------------------------------------------------------

    def put(self, loaded: LoadedConfig, context: PlanContext, plan: GatePlan) -> None:
        """Remember the configuration's files and the plan (best effort: never fails a check)."""
        if self._source_key is None:
            return
        if self._deps is None:
            from gatekit.plan.compile import env_flag_names

            deps = []
            for ref in loaded.policies:
                digest = _sha256(self._dep_path(ref.name))
                if digest is None:
                    return
                deps.append([ref.name, digest])
            self._deps = deps
            self.flags = env_flag_names(loaded.config)
            _write_atomic(
                self._config_file(), canonical.dumps({"deps": deps, "flags": list(self.flags)})
            )
        path = self._plan_file(context)
        if path is None:
            return
        _write_atomic(path, plan.canonical_json())
        self._prune()

    def _prune(self) -> None:
        keep_newest(self.dir, KEEP, lambda name: name.startswith("plan-"))
