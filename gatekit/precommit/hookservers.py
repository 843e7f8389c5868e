"""Which hooks a run's fork servers serve, with what (see :mod:`gatekit.precommit.forkserver`).

A server's environment is the same for every gate of its hook environment: the
caller's allowlisted variables (as a gate's), the hook environment on them (as
pre-commit's ``in_env``), ``PRE_COMMIT=1``, the caller's byte-code prefix, and a HOME
and TMPDIR of its own under the run directory. Each child then takes its gate's
environment whole. What the interpreter reads from its environment only at start
(``PYTHON*`` variables) is the server's, so a gate whose environment has other
``PYTHON*`` values than its server's starts as a process of its own.

The servers a run's uncached hook gates will ask for are started before the shadow
is made (:func:`prestart`): their interpreters start and import while gatekit checks
out the candidate, on the other core.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.precommit.forkserver import Entry, entry_for

if TYPE_CHECKING:
    from gatekit.plan.model import PlannedGate
    from gatekit.precommit.gatehook import HookSource
    from gatekit.precommit.resolve import ResolvedHook
    from gatekit.run.gate import Starter
    from gatekit.run.sandbox import Sandbox


# The server's own place in the run's sandbox directory: not a gate id (they start with
# a letter or digit), laid out as a gate's (``<id>/home``, ``<id>/tmp``).
SERVER_DIR = ".forkserver"


def server_env(hook: ResolvedHook, caller: Mapping[str, str], run_dir: Path) -> dict[str, str]:
    """The environment of ``hook``'s server in the run at ``run_dir``. Its ``GATEKIT_RUN``
    and TMPDIR name the run as a gate command's do: a forked child shows the server's
    environment in ``/proc``, and by it another check's sweep of a crashed run's cgroups
    leaves the child to that run's recovery (:func:`gatekit.operator.runfile.awaiting_recovery`)."""
    from gatekit.operator.runfile import RUN_VAR
    from gatekit.precommit.gatehook import bytecode_env
    from gatekit.precommit.resolve import hook_env
    from gatekit.run.sandbox import ALLOWED

    base = {k: caller[k] for k in ALLOWED if k in caller}
    base.setdefault("PATH", os.defpath)
    place = run_dir / "sandbox" / SERVER_DIR
    base.update(
        HOME=str(place / "home"),
        TMPDIR=str(place / "tmp"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    base[RUN_VAR] = f"{run_dir.name}/{SERVER_DIR}"
    return {**hook_env(hook, base), "PRE_COMMIT": "1", **bytecode_env(caller)}


def _python_vars(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("PYTHON")}


def _entry(hook: ResolvedHook, argv: Sequence[str]) -> Entry | None:
    from gatekit.precommit.resolve import env_dir

    if hook.language != "python":
        return None
    return entry_for(env_dir(hook), argv)


def _serves_views() -> bool:
    from gatekit.run.isolation import GateView

    return GateView.enters_cgroups()


def starter_for(
    source: HookSource,
    hook: ResolvedHook,
    argv: Sequence[str],
    env: Mapping[str, str],
    box: Sandbox,
) -> Starter | None:
    """What starts ``argv`` of ``hook`` (in ``env``) from its environment's fork server,
    or None: it starts as a process of its own."""
    if box.view is None or not _serves_views():
        return None
    entry = _entry(hook, argv)
    if entry is None:
        return None
    scratch = box.tmp.parent.parent  # the run's sandbox directory
    wanted = server_env(hook, source.environ, scratch.parent)
    if _python_vars(env) != _python_vars(wanted):
        return None
    return source.servers.starter(
        entry, argv, lambda: _preload(source, hook, entry), wanted, scratch
    )


def _preload(source: HookSource, hook: ResolvedHook, entry: Entry) -> list[str]:
    """``entry``'s module, then those of the run's other hooks in the same environment that
    have files to check (a hook with none never starts: its imports would be waste)."""
    found = source.hooks_and_tagger()
    if found is None:
        return [entry.target]
    others: set[str] = set()
    for key in source.run_hooks:
        other = found[0].get(key)
        if other is None or other is hook:
            continue
        their = _entry(other, _words(other))
        if their is None or their.python != entry.python:
            continue
        if other.always_run or source.files_of(other):
            others.add(their.target)
    return [entry.target, *sorted(others - {entry.target})]


def _words(hook: ResolvedHook) -> list[str]:
    import shlex

    return shlex.split(hook.entry)[:1]


def prestart(
    source: HookSource,
    gates: Sequence[PlannedGate],
    cached: Callable[[PlannedGate], bool],
    run_dir: Path,
) -> None:
    """Start the servers of the run's hook gates that will run (not cached, with files)."""
    from gatekit.precommit.resolve import is_built

    if not _serves_views():
        return
    found = source.hooks_and_tagger()
    if found is None:
        return
    hooks = found[0]
    scratch = run_dir / "sandbox"
    for gate in gates:
        hook = hooks.get(gate.pre_commit or "")
        if hook is None or not is_built(hook):
            continue
        entry = _entry(hook, _words(hook))
        if entry is None or source.servers.has(entry):
            continue
        if not (hook.always_run or source.files_of(hook)) or cached(gate):
            continue
        env = server_env(hook, source.environ, run_dir)
        source.servers.server_for(
            entry, functools.partial(_preload, source, hook, entry), env, scratch
        )
