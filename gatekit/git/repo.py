"""Opening the repository, with errors for people, and gatekit's private state dir."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.errors import RepositoryError

if TYPE_CHECKING:
    import pygit2


def open_repo(path: str | Path = ".") -> pygit2.Repository:
    """Open the repository containing ``path`` (searching upwards)."""
    from gatekit.git import libgit2

    libgit2.load()
    import pygit2

    start = Path(path).resolve()
    found = pygit2.discover_repository(str(start))
    if found is None:
        raise RepositoryError(
            f"not a git repository: {start}",
            tip="run gatekit inside a git repository, or create one with 'git init'",
        )
    config_path = Path(found) / "config"
    if _uses_reftable(config_path):
        raise RepositoryError(
            f"{found} stores refs in the reftable format, which libgit2 cannot open",
            tip="gatekit needs the 'files' ref storage (git init --ref-format=files)",
        )
    try:
        return pygit2.Repository(found)
    except pygit2.GitError as exc:
        raise RepositoryError(f"cannot open the repository at {found}: {exc}") from None


def _uses_reftable(config_path: Path) -> bool:
    try:
        text = config_path.read_text(encoding="utf-8", errors="replace").lower()
    except OSError:
        return False
    return "refstorage" in text and "reftable" in text


def workdir(repo: pygit2.Repository) -> Path:
    if repo.workdir is None:
        raise RepositoryError(f"{repo.path} is a bare repository; gatekit needs a working tree")
    return Path(repo.workdir)


def common_dir(repo: pygit2.Repository) -> Path:
    """The git common dir (shared by all worktrees of the repository)."""
    key = repo.path
    found = _COMMON_DIRS.get(key)
    if found is None:
        path = Path(key)
        commondir_file = path / "commondir"
        if commondir_file.is_file():
            found = (path / commondir_file.read_text().strip()).resolve()
        else:
            found = path.resolve()
        _COMMON_DIRS[key] = found
    return found


# git dir -> common dir: fixed for a git dir's life, and asked for many times per command
_COMMON_DIRS: dict[str, Path] = {}


def gatekit_dir(repo: pygit2.Repository) -> Path:
    """Local, unshared gatekit state: runs, locks, the shadow pool."""
    d = common_dir(repo) / "gatekit"
    d.mkdir(parents=True, exist_ok=True)
    return d


def current_branch(repo: pygit2.Repository) -> str | None:
    """The short name of the checked-out branch, or None when HEAD is detached."""
    try:
        if repo.head_is_detached:
            return None
        ref = repo.lookup_reference("HEAD").target
    except Exception:
        return None
    name = str(ref)
    return name.removeprefix("refs/heads/")
