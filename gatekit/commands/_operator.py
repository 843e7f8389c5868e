"""Shared by the operator commands (status, watch, explain, stop, unlock)."""

from __future__ import annotations

from pathlib import Path

from gatekit.errors import RepositoryError, UsageError


def state_dir() -> Path:
    """The repository's gatekit state dir (no pygit2: these commands start fast)."""
    from gatekit.operator.locate import gatekit_dir

    found = gatekit_dir()
    if found is None:
        raise RepositoryError(
            f"not a git repository: {Path.cwd()}",
            tip="run gatekit inside a git repository",
        )
    return found


def run_dir(run: str | None) -> Path:
    from gatekit.operator.rundir import resolve, run_ids

    d = state_dir()
    found = resolve(d, run)
    if found is None:
        if run is None:
            raise UsageError("no gatekit run in this repository yet", tip="run gatekit check")
        known = run_ids(d)[-5:]
        raise UsageError(
            f"no run {run!r} (or more than one starts so)",
            tip=("recent runs: " + ", ".join(known)) if known else "no runs yet",
        )
    return found
