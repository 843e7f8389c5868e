"""Shared fixtures: real git repositories in temporary directories."""

from __future__ import annotations

import fcntl
import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
collect_ignore = ["data"]  # tests/data/projects holds real projects' own test suites

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every test gets a fresh HOME and pinned git identity; the real HOME is never touched."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = user@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[core]\n\tautocrlf = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    for key in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"):
        monkeypatch.delenv(key, raising=False)
    # The suite may itself run on GitHub Actions: no check may turn into --ci by accident.
    for key in list(os.environ):
        if key.startswith("GITHUB_") or key in ("GATEKIT_SKIP", "GH_TOKEN"):
            monkeypatch.delenv(key, raising=False)
    # A `gatekit daemon` the developer runs must not serve the tests' checks
    # (tests/test_daemon.py starts its own and clears this).
    monkeypatch.setenv("GATEKIT_NO_DAEMON", "1")
    yield
    support = sys.modules.get("operator_support")
    if support is not None:  # checks a failed test left in the background
        support.reap_started()


def git(cwd: Path, *args: str, check: bool = True, input: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.decode()}"
        )
    return proc.stdout.decode()


class Repo:
    """A throwaway git repository with helpers to write, stage and commit."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def write(self, rel: str, content: str | bytes, mode: int | None = None) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        p.write_bytes(content)
        if mode is not None:
            p.chmod(mode)
        return p

    def commit(self, message: str = "commit", *paths: str) -> str:
        self.git("add", "-A", *paths)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def gatekit(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return run_gatekit(self.path, *args, env=env, timeout=timeout)


def run_gatekit(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "gatekit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    r = Repo(path)
    r.write("README.md", "hello\n")
    r.commit("initial")
    return r


@pytest.fixture
def empty_repo(tmp_path: Path) -> Repo:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return Repo(path)


def pip_env(**extra: str) -> dict[str, str]:
    """The environment for a pip that must not see the suite's interpreter or venv.

    It shares the user's pip cache (every test's HOME is a fresh one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if "PIP_CACHE_DIR" not in env:
        cache = Path(pwd.getpwuid(os.getuid()).pw_dir, ".cache", "pip")
        if cache.is_dir():
            env["PIP_CACHE_DIR"] = str(cache)
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """Wheels of gatekit's dependencies and its build backend, fetched once for the run.

    A pip given ``wheelhouse_env`` installs gatekit from source with no index:
    what it must resolve is the same, but one resolution against the index is
    paid for the whole run (every xdist worker waits on one lock), not one per
    environment a test builds (~30 s each, nearly all of it index queries)."""
    base = tmp_path_factory.getbasetemp()
    top = base.parent if worker_id != "master" else base
    house = top / "wheelhouse"
    with open(top / "wheelhouse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (house / ".complete").exists():
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "-q",
                    "-w",
                    str(house),
                    str(ROOT),
                    "hatchling>=1.21",
                ],
                capture_output=True,
                text=True,
                env=pip_env(),
                check=False,
                timeout=900,
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            for own in house.glob("gatekit-*.whl"):  # tests build gatekit from their source
                own.unlink()
            (house / ".complete").touch()
    return house


def wheelhouse_env(house: Path, **extra: str) -> dict[str, str]:
    """``pip_env`` with the index off and ``house`` as the only place to find packages."""
    return pip_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(house), **extra)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first: with ``-n`` (loadgroup hands out one test at a time) the run
    then ends on short tests, not one worker finishing an 80 s test while the others
    wait (the sort is stable, so every xdist worker collects the same order)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
