"""Hook repositories for pre-commit gate tests: clones of the bundles in the shared data."""

from __future__ import annotations

import subprocess
from pathlib import Path

BUNDLES = next(
    (
        p / "shared" / "data" / "hook-repos"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data" / "hook-repos").is_dir()
    ),
    Path("/work/shared/data/hook-repos"),
)
HOOKS_BUNDLE = "pre-commit-hooks-v6.0.0.bundle"
RUFF_BUNDLE = "ruff-pre-commit-v0.16.4.bundle"
HOOKS_REV = "v6.0.0"
RUFF_REV = "v0.16.4"


def clone_bundle(bundle: str, dest: Path) -> Path:
    subprocess.run(
        ["git", "clone", "-q", str(BUNDLES / bundle), str(dest)], check=True, capture_output=True
    )
    return dest


def config(hooks_repo: Path, ruff_repo: Path, extra: str = "") -> str:
    return f"""repos:
-   repo: {hooks_repo}
    rev: {HOOKS_REV}
    hooks:
    -   id: end-of-file-fixer
    -   id: trailing-whitespace
    -   id: check-yaml
    -   id: check-added-large-files
-   repo: {ruff_repo}
    rev: {RUFF_REV}
    hooks:
    -   id: ruff-check
    -   id: ruff-format
{extra}"""
