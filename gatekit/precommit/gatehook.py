"""The runner's view of pre-commit gates: which hook, which files, which environment."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekit.atomicfile import save_quietly
from gatekit.errors import UsageError
from gatekit.lazyclass import dataclass
from gatekit.precommit.keys import tagger_for
from gatekit.precommit.resolve import (
    CONFIG_FILE,
    ResolvedHook,
    from_json,
    install,
    is_built,
    resolve_hooks,
    to_json,
)
from gatekit.precommit.select import Tagger, hook_files

if TYPE_CHECKING:
    import pygit2

    from gatekit.plan.model import PlannedGate
    from gatekit.run.gate import Starter
    from gatekit.run.sandbox import Sandbox


@dataclass(frozen=True)
class HookRun:
    hook: ResolvedHook
    files: tuple[str, ...]


class HookSource:
    """Shared by the gates of one run: the candidate's hooks, resolved once."""

    def __init__(
        self,
        repo: pygit2.Repository,
        tree: str,
        changed: Sequence[str],
        run_hooks: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        from gatekit.precommit.forkserver import ServerPool

        self.repo = repo
        self.tree = tree
        self.changed = tuple(changed)
        self.run_hooks = tuple(run_hooks)  # the hooks of the gates this run may start
        self.environ = os.environ if environ is None else environ  # the caller's
        self._lock = threading.Lock()
        self._hooks: dict[str, ResolvedHook] | None = None
        self._raw: dict[str, Any] = {}
        self._tagger: Tagger | None = None
        self.servers = ServerPool()

    def close(self) -> None:
        """End the run's fork servers."""
        self.servers.close()

    def fork_starter(
        self, hook: ResolvedHook, argv: Sequence[str], env: Mapping[str, str], box: Sandbox
    ) -> Starter | None:
        """What starts ``argv`` of ``hook`` from its environment's fork server, or None: it
        starts as a process of its own (see :mod:`gatekit.precommit.hookservers`)."""
        from gatekit.precommit import hookservers

        return hookservers.starter_for(self, hook, argv, env, box)

    def prestart(
        self,
        gates: Sequence[PlannedGate],
        cached: Callable[[PlannedGate], bool],
        run_dir: Path,
    ) -> None:
        """Start the fork servers the run's uncached hook gates will ask for, now."""
        from gatekit.precommit import hookservers

        hookservers.prestart(self, gates, cached, run_dir)

    def hooks_and_tagger(self) -> tuple[dict[str, ResolvedHook], Tagger] | None:
        """The hooks as resolved so far (from the kept resolution of the candidate's
        config, without a shadow) and the candidate's tagger; None: not resolved yet."""
        from gatekit.precommit.keys import resolved_hooks

        with self._lock:
            if self._tagger is None:
                self._tagger = tagger_for(self.repo, self.tree)
            hooks = self._hooks if self._hooks is not None else resolved_hooks(self.repo, self.tree)
            return None if hooks is None else (hooks, self._tagger)

    def files_of(self, hook: ResolvedHook) -> list[str]:
        """The files the run gives ``hook``."""
        assert self._tagger is not None
        with self._lock:
            return hook_files(hook, self.changed, self._tagger)

    def _resolved(self, root: Path, fresh: bool = False) -> dict[str, ResolvedHook]:
        """The hooks: from the resolution kept for these config bytes and this
        PRE_COMMIT_HOME, else (or ``fresh``) from pre-commit."""
        with self._lock:
            if self._tagger is None:
                self._tagger = tagger_for(self.repo, self.tree)  # the cache key's too
            if self._hooks is not None and not (fresh and not self._raw):
                return self._hooks
            path = root / CONFIG_FILE
            if not path.is_file():
                raise UsageError(f"the candidate has no {CONFIG_FILE}")
            memo = self._memo_path(path.read_bytes())
            kept = None if fresh else _read_memo(memo)
            if kept is not None:
                self._hooks = kept
                return kept
            self._hooks, self._raw = resolve_hooks(root)
            with contextlib.suppress(OSError):
                memo.parent.mkdir(parents=True, exist_ok=True)
            save_quietly(memo, json.dumps(to_json(self._hooks), sort_keys=True))
            return self._hooks

    def _memo_path(self, config: bytes) -> Path:
        return memo_path(self.repo, config)

    def prepare(self, gate: PlannedGate, root: Path) -> HookRun:
        """The gate's hook with its environment built, and the files it is given."""
        assert gate.pre_commit is not None
        hooks = self._resolved(root)
        hook = hooks.get(gate.pre_commit)
        if hook is None:
            from gatekit.config.suggest import did_you_mean

            raise UsageError(
                f"{CONFIG_FILE} has no hook '{gate.pre_commit}'"
                f"{did_you_mean(gate.pre_commit, tuple(hooks))}"
            )
        if not is_built(hook):  # pre-commit builds it (and finds what it already has)
            self._resolved(root, fresh=True)
            install(self._raw[gate.pre_commit], root)
        assert self._tagger is not None
        with self._lock:
            files = hook_files(hook, self.changed, self._tagger)
        return HookRun(hook, tuple(files))


# Tools whose caches stay valid between runs of a view: ruff keys each file's entry by
# its path, mtime and permissions under the project root (a shadow: a file the shadow's
# checkout rewrote has a new mtime), re-checks what it formatted or fixed in a view
# (only the view's copy changed), and writes its cache files whole.
TOOL_CACHES = {"RUFF_CACHE_DIR": "ruff"}


def tool_cache_env(repo: pygit2.Repository, env: Mapping[str, str]) -> dict[str, str]:
    """Where a hook's tools keep their caches from one check to the next: under
    ``.git/gatekit/tool-caches/`` (in a view, a cache in the project would go with the
    view), unless the gate passes its own location in."""
    from gatekit.git.repo import gatekit_dir

    top = gatekit_dir(repo) / "tool-caches"
    return {var: str(top / name) for var, name in TOOL_CACHES.items() if var not in env}


def bytecode_env(caller: Mapping[str, str]) -> dict[str, str]:
    """Where the hook environment's byte code is: pre-commit builds (pip compiles) and
    runs hooks with the caller's whole environment, so with the caller's
    ``PYTHONPYCACHEPREFIX`` the compiled modules are under that prefix, not in the
    environment. A gate's allowlisted environment would drop it, and every module of
    the hook would be compiled again at each run."""
    prefix = caller.get("PYTHONPYCACHEPREFIX")
    return {"PYTHONPYCACHEPREFIX": prefix} if prefix else {}


def memo_path(repo: pygit2.Repository, config: bytes) -> Path:
    """Where the resolution of these config bytes in this PRE_COMMIT_HOME is kept."""
    from gatekit.git.repo import gatekit_dir

    home = os.environ.get("PRE_COMMIT_HOME") or os.path.expanduser("~/.cache/pre-commit")
    key = hashlib.sha256(config + b"\0" + os.path.abspath(home).encode()).hexdigest()
    return gatekit_dir(repo) / "pre-commit" / f"hooks-{key[:32]}.json"


_read: dict[Path, tuple[int, dict[str, ResolvedHook] | None]] = {}


def read_memo(path: Path) -> dict[str, ResolvedHook] | None:
    """The kept resolution at ``path``, read once per version of the file (every hook
    gate's cache key asks for it)."""
    try:
        version = path.stat().st_mtime_ns
    except OSError:
        return None
    hit = _read.get(path)
    if hit is None or hit[0] != version:
        if len(_read) > 8:
            _read.clear()
        hit = _read[path] = (version, _read_memo(path))
    return hit[1]


def _read_memo(path: Path) -> dict[str, ResolvedHook] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    hooks = from_json(data) if isinstance(data, list) else None
    if hooks is None or any(h.prefix and not Path(h.prefix).is_dir() for h in hooks.values()):
        return None  # pre-commit's store was cleaned: resolve again
    return hooks
