"""Helpers for the candidate and shadow tests: oracles from git itself and user-state fingerprints."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from conftest import git


def _git_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE")
    }
    env.update(extra)
    return env


def oracle_staged(path: Path) -> str:
    """``git write-tree`` on a copy of the index (write-tree may rewrite the index it reads)."""
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        if (path / ".git" / "index").exists():
            shutil.copy2(path / ".git" / "index", index)
        out = subprocess.run(
            ["git", "write-tree"],
            cwd=path,
            env=_git_env({"GIT_INDEX_FILE": str(index)}),
            capture_output=True,
            check=True,
        )
    return out.stdout.decode().strip()


def oracle_worktree(path: Path) -> str:
    """``git add -A && git write-tree`` in a full copy of the repository."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy"
        shutil.copytree(path, copy, symlinks=True)
        git(copy, "add", "-A")
        return git(copy, "write-tree").strip()


def oracle_merge(path: Path, base: str, head: str) -> tuple[str | None, set[str]]:
    """(tree, conflicting paths) from ``git merge-tree --write-tree``."""
    proc = subprocess.run(
        ["git", "merge-tree", "--write-tree", "--name-only", "-z", base, head],
        cwd=path,
        env=_git_env({}),
        capture_output=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    fields = proc.stdout.split(b"\0")
    if proc.returncode == 0:
        return fields[0].decode(), set()
    paths = set()
    for field in fields[1:]:
        if not field:
            break
        paths.add(field.decode())
    return None, paths


def fingerprint(path: Path) -> dict[str, object]:
    """Everything of the user's that gatekit must not touch: files (bytes, mode, mtime), index, HEAD, refs."""
    files: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        rel_dir = os.path.relpath(dirpath, path)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(full)
            if os.path.islink(full):
                files[rel] = ("link", os.readlink(full), st.st_mtime_ns)
            elif os.path.isdir(full):
                files[rel] = ("dir", st.st_mode)
            else:
                digest = hashlib.sha256(Path(full).read_bytes()).hexdigest()
                files[rel] = ("file", digest, st.st_mode, st.st_mtime_ns, st.st_size)
    dotgit = path / ".git"
    index = dotgit / "index"
    refs = git(path, "for-each-ref", "--format=%(refname) %(objectname) %(symref)")
    user_refs = [line for line in refs.splitlines() if not line.startswith("refs/gatekit/")]
    return {
        "files": files,
        "index": (index.read_bytes(), index.stat().st_mtime_ns) if index.exists() else None,
        "HEAD": (dotgit / "HEAD").read_bytes(),
        "refs": user_refs,
        "config": (dotgit / "config").read_bytes(),
        "stray_locks": sorted(
            str(p.relative_to(dotgit))
            for p in dotgit.rglob("*.lock")
            if not {"gatekit", "worktrees"} & set(p.relative_to(dotgit).parts)
        ),
    }
