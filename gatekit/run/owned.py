"""What each gate of a run wrote to the candidate, and what that means for its result.

A gate that is not ``fix: true`` and changes or deletes tracked files of the candidate
fails, naming them; files the candidate does not track (caches, build directories,
reports) are fine. A fix gate's fix is exactly its own changes to tracked files.

In ``overlay`` mode (see :mod:`gatekit.run.isolation`) every gate that runs commands
has its own view and its writes come from its upper directory; in ``exclusive`` mode
such gates take turns in the shared shadow, whose writes are read with git and then
reset.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.plan.model import PlannedGate
from gatekit.record.objects import tree_entries
from gatekit.results import GOOD_OUTCOMES, GateResult, Outcome
from gatekit.run import isolation, memviews
from gatekit.run.finish import FIX_REASON
from gatekit.run.options import ShadowLike

FIX_TIP = "declare `fix: true` if this gate is a formatter"
SHOWN = 10  # paths named in a reason

if TYPE_CHECKING:
    import pygit2


def runs_commands(gate: PlannedGate) -> bool:
    return gate.runner in ("session", "nox", "pre-commit")


class RunWrites:
    """Shared by the gates of one run: the mode, the candidate's tracked files."""

    def __init__(self, shadow: ShadowLike, scratch: Path, mode: str) -> None:
        self.shadow = shadow
        self.scratch = scratch
        self.mode = mode
        self._lock = threading.Lock()
        self._repo: pygit2.Repository | None = None
        self._tree: str | None = None
        self._tracked: dict[str, tuple[int, str]] | None = None
        self._in_memory: list[Path | None] = []  # found once: memviews' root, if usable

    @classmethod
    def decide(
        cls, shadow: ShadowLike, scratch: Path, any_commands: bool, asked: str | None = None
    ) -> RunWrites:
        """``overlay`` where the kernel allows it, else ``exclusive`` (probed only when a
        gate will run commands); ``asked`` = ``exclusive`` (GATEKIT_ISOLATION) forces it."""
        # the answer is remembered next to the runs (runs/<id>/sandbox -> runs/.isolation)
        memo = scratch.parent.parent / ".isolation"
        overlay = (
            asked != isolation.EXCLUSIVE
            and any_commands
            and isolation.overlay_available(scratch, memo=memo)
        )
        return cls(shadow, scratch, isolation.OVERLAY if overlay else isolation.EXCLUSIVE)

    def runs_alone(self, gate: PlannedGate) -> bool:
        """Whether the scheduler must run ``gate`` with no other gate beside it."""
        return self.mode == isolation.EXCLUSIVE and runs_commands(gate)

    def view_for(self, gate: PlannedGate) -> isolation.GateView | None:
        if self.mode != isolation.OVERLAY or not runs_commands(gate):
            return None
        where = self._memory() if gate.runner == "pre-commit" else None
        if where is not None:
            base, trash = memviews.view_base(where, gate.id), memviews.trash(where)
        else:
            # closed views go to runs/.trash (beside runs/.isolation), emptied in the background
            base, trash = self.scratch / gate.id / "view", self.scratch.parent.parent / ".trash"
        view = isolation.make_view(self.shadow.path, base, trash, label=gate.id)
        if view is None:
            raise RuntimeError(f"no copy-on-write view for gate {gate.id}")
        return view

    def _memory(self) -> Path | None:
        """Where hook gates' views go in memory (see :mod:`gatekit.run.memviews`), found
        once a run; None: under the run directory, as every other gate's."""
        with self._lock:
            if not self._in_memory:
                where = memviews.root()
                if where is not None and not isolation.overlay_available(
                    where, memo=memviews.memo(where)
                ):
                    where = None
                self._in_memory.append(where)
            return self._in_memory[0]

    # -- after a gate ----------------------------------------------------------------
    def judge(
        self, gate: PlannedGate, result: GateResult, view: isolation.GateView | None
    ) -> GateResult:
        """``result`` with the gate's writes to tracked files taken into account."""
        if not runs_commands(gate) or result.outcome is Outcome.STOPPED:
            if view is None and self.mode == isolation.EXCLUSIVE and runs_commands(gate):
                self.shadow.reset()
            return result
        if view is not None:
            writes = view.writes(self.tracked()) if _non_empty(view.upper) else None
            return self._judged(gate, result, writes)
        try:
            return self._judged(gate, result, self._shadow_writes())
        finally:
            self.shadow.reset()

    def _judged(
        self, gate: PlannedGate, result: GateResult, writes: isolation.Writes | None
    ) -> GateResult:
        if writes is None or not writes.tracked:
            return result
        if gate.fix or gate.runner == "pre-commit":  # a hook that modifies files is a fixer
            return _with_fix(result, self.fix_tree(writes))
        return _touched_tracked(result, writes.tracked)

    # -- the candidate -----------------------------------------------------------------
    def _handle(self) -> tuple[pygit2.Repository, str]:
        import pygit2

        with self._lock:
            if self._repo is None:
                repo = pygit2.Repository(str(self.shadow.path))
                commit = getattr(self.shadow, "commit", None)
                target = repo[commit] if commit else repo.head.peel(pygit2.Commit)
                self._tree = str(target.peel(pygit2.Tree).id)
                self._repo = repo
            assert self._tree is not None
            return self._repo, self._tree

    def tracked(self) -> dict[str, tuple[int, str]]:
        """path -> (git mode, blob OID) of every file of the candidate tree (none when the
        shadow is a plain directory, as in the runner's own tests)."""
        import pygit2

        try:
            repo, tree = self._handle()
        except pygit2.GitError:
            return {}
        with self._lock:
            if self._tracked is None:
                self._tracked = tree_entries(repo, tree)
            return self._tracked

    def fix_tree(self, writes: isolation.Writes) -> str:
        """The candidate tree with the gate's changes to tracked files, nothing else."""
        import pygit2

        repo, tree = self._handle()
        index = pygit2.Index()
        index.read_tree(repo[tree].peel(pygit2.Tree))
        tracked = self.tracked()
        for path in writes.changed:
            source = writes.files[path]
            st = os.lstat(source)
            mode = isolation.git_mode(st)
            if mode == 0o120000:
                oid = repo.create_blob(os.readlink(source).encode())
            else:
                oid = repo.create_blob_fromdisk(str(source))
            index.add(pygit2.IndexEntry(path, oid, pygit2.enums.FileMode(mode)))
        for path in writes.deleted:
            if path in tracked:
                index.remove(path)
        return str(index.write_tree(repo))

    def _shadow_writes(self) -> isolation.Writes:
        """Exclusive mode: the shared shadow's changes against the candidate, with git."""
        import pygit2

        repo, tree = self._handle()
        # The shadow's own index (the candidate, with its stat data) in memory:
        # add_all + write_tree, never index.write()
        index = pygit2.Repository(str(self.shadow.path)).index
        index.add_all()
        now = str(index.write_tree())
        tracked = self.tracked()
        changed: list[str] = []
        deleted: list[str] = []
        added: list[str] = []
        files: dict[str, Path] = {}
        before = repo[tree].peel(pygit2.Tree)
        for delta in before.diff_to_tree(repo[now].peel(pygit2.Tree)).deltas:
            if delta.status == pygit2.enums.DeltaStatus.DELETED:
                deleted.append(delta.old_file.path)
                continue
            path = delta.new_file.path
            files[path] = self.shadow.path / path
            (changed if path in tracked else added).append(path)
        return isolation.Writes(tuple(changed), tuple(deleted), tuple(added), files)


def _non_empty(path: Path) -> bool:
    try:
        with os.scandir(path) as it:
            return next(it, None) is not None
    except OSError:
        return False


def _shown(paths: tuple[str, ...]) -> str:
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


def _touched_tracked(result: GateResult, paths: tuple[str, ...]) -> GateResult:
    what = f"changed tracked files of the candidate: {_shown(paths)} ({FIX_TIP})"
    if result.outcome in GOOD_OUTCOMES:
        return result.model_copy(update={"outcome": Outcome.FAILED, "reason": what})
    return result.model_copy(update={"reason": f"{result.reason}; it also {what}"})


def _with_fix(result: GateResult, tree: str) -> GateResult:
    update: dict[str, object] = {"fix_tree": tree}
    if result.outcome in GOOD_OUTCOMES:
        update.update(outcome=Outcome.FAILED, reason=FIX_REASON)
    else:
        update["reason"] = f"{result.reason}; {FIX_REASON}"
    return result.model_copy(update=update)
