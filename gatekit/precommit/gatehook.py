"""The runner's view of pre-commit gates: which hook, which files, which environment."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekit.errors import UsageError
from gatekit.precommit.resolve import (
    CONFIG_FILE,
    DIRECT_LANGUAGES,
    ResolvedHook,
    install,
    resolve_hooks,
)
from gatekit.precommit.select import Tagger, hook_files, tree_files

if TYPE_CHECKING:
    import pygit2

    from gatekit.plan.model import PlannedGate


@dataclass(frozen=True)
class HookRun:
    hook: ResolvedHook
    files: tuple[str, ...]


class HookSource:
    """Shared by the gates of one run: the candidate's hooks, resolved once."""

    def __init__(self, repo: pygit2.Repository, tree: str, changed: Sequence[str]) -> None:
        self.repo = repo
        self.tree = tree
        self.changed = tuple(changed)
        self._lock = threading.Lock()
        self._hooks: dict[str, ResolvedHook] | None = None
        self._raw: dict[str, Any] = {}
        self._tagger: Tagger | None = None

    def _resolved(self, root: Path) -> dict[str, ResolvedHook]:
        with self._lock:
            if self._hooks is None:
                if not (root / CONFIG_FILE).is_file():
                    raise UsageError(f"the candidate has no {CONFIG_FILE}")
                self._hooks, self._raw = resolve_hooks(root)
                self._tagger = Tagger(self.repo, tree_files(self.repo, self.tree))
            return self._hooks

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
        if hook.language not in DIRECT_LANGUAGES:
            raise UsageError(
                f"hook '{hook.id}' is of language '{hook.language}', which pre-commit gates do"
                f" not run yet (they run: {', '.join(sorted(DIRECT_LANGUAGES))})"
            )
        install(self._raw[gate.pre_commit], root)
        assert self._tagger is not None
        with self._lock:
            files = hook_files(hook, self.changed, self._tagger)
        return HookRun(hook, tuple(files))
