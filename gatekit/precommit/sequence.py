"""Fixer hooks in sequence, as pre-commit runs them: a later hook sees earlier fixes.

Gates run side by side on the candidate, so each pre-commit fixer's fix is made from
the candidate as it is. Where a fixer is given a file an earlier fixer changed
(trailing-whitespace, then end-of-file-fixer), pre-commit's result is the later hook
run on the earlier hook's output. To apply exactly that, the fixes of pre-commit gates
are combined in the order of their hooks in ``.pre-commit-config.yaml``: a checkout of
the candidate receives each fix in turn, and such a fixer runs again there, on those
files, with the same command and environment as its gate. Fixes no later fixer is
given combine as they are (nothing runs again, nothing is checked out). Hooks that
made no fix of the candidate are taken to make none of the fixed files either.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.errors import UsageError

if TYPE_CHECKING:
    import pygit2

    from gatekit.plan.model import GatePlan, PlannedGate
    from gatekit.precommit.resolve import ResolvedHook
    from gatekit.record.objects import Entry
    from gatekit.results import GateResult


def fixes_in_sequence(
    repo: pygit2.Repository, candidate_tree: str, plan: GatePlan, results: Sequence[GateResult]
) -> list[str]:
    """The fix trees to combine: other gates' as they are, the pre-commit gates' as one
    tree made in config order (or as they are, when no fixer is given a file an earlier
    one changed)."""
    gates = {g.id: g for g in plan.gates}
    fixers: list[tuple[PlannedGate, str]] = []
    others: list[str] = []
    for r in results:
        if not r.fix_tree:
            continue
        gate = gates.get(r.id)
        if gate is not None and gate.runner == "pre-commit":
            fixers.append((gate, r.fix_tree))
        else:
            others.append(r.fix_tree)
    if len(fixers) < 2:
        return others + [t for _, t in fixers]
    from gatekit.record.objects import diff_trees

    hooks = _hooks(repo, candidate_tree, [g for g, _ in fixers])
    order = list(hooks)
    fixers.sort(key=lambda f: order.index(f[0].id))
    steps = [
        (g, hooks[g.id], {p: new for p, (_, new) in diff_trees(repo, candidate_tree, t).items()})
        for g, t in fixers
    ]
    combined = _combine(repo, candidate_tree, steps)
    return others + ([t for _, t in fixers] if combined is None else [combined])


def _hooks(
    repo: pygit2.Repository, tree: str, gates: Sequence[PlannedGate]
) -> dict[str, ResolvedHook]:
    """gate id -> its hook, in the order of the hooks in the config."""
    from gatekit.precommit.keys import resolved_hooks

    hooks = resolved_hooks(repo, tree) or {}  # the gates ran from this very config
    order = list(hooks)
    found: dict[str, ResolvedHook] = {}
    for gate in gates:
        hook = hooks.get(gate.pre_commit or "")
        if hook is None:
            raise UsageError(
                f"cannot apply the fixes of pre-commit gate '{gate.id}' in sequence: its hook"
                " is not resolved any more",
                tip="run gatekit check --apply-fixes again",
            )
        found[gate.id] = hook
    return dict(sorted(found.items(), key=lambda kv: order.index(kv[1].key)))


def _combine(
    repo: pygit2.Repository,
    candidate_tree: str,
    fixers: Sequence[tuple[PlannedGate, ResolvedHook, Mapping[str, Entry | None]]],
) -> str | None:
    """The fixes applied in turn, each fixer run again on the files earlier fixers changed
    that it is given; None when no fixer is given another's file (they combine as they are)."""
    import pygit2

    from gatekit.precommit.keys import tagger_for
    from gatekit.precommit.select import hook_files
    from gatekit.record.objects import edit_tree

    tagger = tagger_for(repo, candidate_tree)  # the one the gates' keys used
    done: dict[str, Entry | None] = {}
    ran = False
    with tempfile.TemporaryDirectory(prefix="gatekit-fixers-") as top:
        work = Path(top) / "tree"
        for gate, hook, own in fixers:
            again = hook_files(hook, [p for p, e in done.items() if e is not None], tagger)
            rerun: dict[str, Entry | None] = {}
            if again:  # an earlier fixer changed files this one is given: it runs on them
                if not ran:
                    _checkout(repo, candidate_tree, work)
                    ran = True
                _write(repo, work, done)
                _run(gate, hook, again, work, Path(top))
                rerun = {p: _entry(repo, work, p, done[p]) for p in again}
            for path, entry in own.items():
                if path not in rerun:
                    done[path] = entry
            done.update(rerun)
    if not ran:
        return None
    return edit_tree(repo, repo[candidate_tree].peel(pygit2.Tree), done)


def _checkout(repo: pygit2.Repository, tree: str, dest: Path) -> None:
    """The tree's files in ``dest`` (``git archive | tar -x``: the index is never touched)."""
    from gatekit.record.fixes import clean_git_env

    dest.mkdir(parents=True)
    archive = subprocess.Popen(
        ["git", "--git-dir", repo.path, "archive", "--format=tar", tree],
        stdout=subprocess.PIPE,
        env=clean_git_env(),
    )
    assert archive.stdout is not None
    tar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=False)
    archive.stdout.close()
    if archive.wait() != 0 or tar.returncode != 0:
        raise UsageError(f"cannot check out tree {tree[:12]} to combine the fixes of hooks")


def _write(repo: pygit2.Repository, work: Path, changes: Mapping[str, Entry | None]) -> None:
    for path, entry in changes.items():
        target = work / path
        if entry is None:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        data: bytes = repo[entry.oid].data  # type: ignore[attr-defined]
        if entry.mode == 0o120000:
            os.symlink(os.fsdecode(data), target)
            continue
        target.write_bytes(data)
        target.chmod(0o755 if entry.mode == 0o100755 else 0o644)


def _entry(repo: pygit2.Repository, work: Path, path: str, before: Entry | None) -> Entry | None:
    from gatekit.record.objects import Entry

    target = work / path
    if not target.exists() and not target.is_symlink():
        return None
    data = os.fsencode(os.readlink(target)) if target.is_symlink() else target.read_bytes()
    mode = before.mode if before is not None else 0o100644
    return Entry(str(repo.create_blob(data)), mode)


def _run(
    gate: PlannedGate, hook: ResolvedHook, files: Sequence[str], work: Path, top: Path
) -> None:
    """The hook on ``files`` in ``work``, as its gate ran it (environment from the allowlist)."""
    from gatekit.precommit.execute import hook_commands
    from gatekit.precommit.resolve import hook_env
    from gatekit.run.sandbox import gate_env

    home, tmp = top / "home", top / "tmp"
    home.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    env = {**hook_env(hook, gate_env(gate, os.environ, home, tmp)), "PRE_COMMIT": "1"}
    commands, shown = hook_commands(hook, files, tmp)
    for argv, _ in commands:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a timeout ends the hook's whole process group
            )
        except OSError as exc:
            raise _rerun_error(gate, hook, shown, str(exc)) from None
        try:
            proc.wait(timeout=gate.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise _rerun_error(gate, hook, shown, f"timed out after {gate.timeout:g}s") from None


def _rerun_error(gate: PlannedGate, hook: ResolvedHook, shown: str, why: str) -> UsageError:
    return UsageError(
        f"hook {hook.id} (gate '{gate.id}') could not run again on the files an earlier fixer"
        f" changed: `{shown}`: {why}",
        tip="apply the fixes one gate at a time: gatekit check --gate GATE --apply-fixes",
    )
