"""Find the repository's gatekit state dir without opening it with pygit2 (fast start)."""

from __future__ import annotations

import os
from pathlib import Path


def git_dir(start: Path) -> Path | None:
    """The git dir of the repository containing ``start`` ($GIT_DIR wins)."""
    env = os.environ.get("GIT_DIR")
    if env:
        return Path(env).resolve()
    here = start.resolve()
    for d in (here, *here.parents):
        dot = d / ".git"
        if dot.is_dir():
            return dot
        if dot.is_file():
            text = dot.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                return (d / text.removeprefix("gitdir:").strip()).resolve()
    return None


def common_dir(gitdir: Path) -> Path:
    marker = gitdir / "commondir"
    if marker.is_file():
        return (gitdir / marker.read_text(encoding="utf-8").strip()).resolve()
    return gitdir


def gatekit_dir(start: Path | None = None) -> Path | None:
    """``<common dir>/gatekit`` of the repository around ``start`` (default: cwd), or None."""
    found = git_dir(Path.cwd() if start is None else start)
    return None if found is None else common_dir(found) / "gatekit"
