"""Running the git binary for repository work, with a clean, explicit environment.

Variables that relocate the repository (``GIT_DIR``, ``GIT_INDEX_FILE``, ...) are
never inherited: a hook exports them for its own git, and a gatekit subprocess
that picked them up could write the user's index. Callers pass the ones they
mean through ``env``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_QUARANTINE_PATH",
)


def without_location(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default ``os.environ``) without the repository-location variables."""
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if k not in LOCATION_VARS}


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` without the repository-location variables, plus ``extra``."""
    env = without_location()
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("LC_ALL", "C")
    if extra:
        env.update(extra)
    return env


def run_git(
    args: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS``; the caller inspects ``returncode``, ``stdout`` and ``stderr``."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
        pass_fds=tuple(pass_fds),
    )


def describe_failure(args: Sequence[str], proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode("utf-8", "replace").strip()
    lines = err.splitlines()[-5:]
    detail = ("\n  " + "\n  ".join(lines)) if lines else ""
    return f"'git {' '.join(args)}' failed with exit code {proc.returncode}{detail}"
