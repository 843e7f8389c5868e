"""Hooks of every pre-commit language: python and system directly, pygrep directly
(pre-commit's own grep), the rest (here: node) through pre-commit's language module;
a local python hook without additional_dependencies in the environment pre-commit built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Repo
from precommit_support import node_hook_repo, pre_commit_run, rust_hook_repo

pytestmark = pytest.mark.slow

HOOKS = ("no-tabs", "no-print", "py-prefix")


def _config(node_repo: Path, rev: str) -> str:
    return f"""repos:
-   repo: {node_repo}
    rev: {rev}
    hooks:
    -   id: no-tabs
-   repo: local
    hooks:
    -   id: no-print
        name: no-print
        language: pygrep
        entry: '\\bprint\\('
        types: [python]
    -   id: py-prefix
        name: py-prefix
        language: python
        entry: python -c "import sys; print('prefix=' + sys.prefix)"
        pass_filenames: false
"""


@pytest.fixture
def langs(repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    node_repo, rev = node_hook_repo(tmp_path / "node-hook")
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    repo.write(".pre-commit-config.yaml", _config(node_repo, rev))
    repo.write(
        "validation.yaml",
        "version: 1\ngates:\n" + "".join(f"  - {{id: {h}, pre-commit: {h}}}\n" for h in HOOKS),
    )
    repo.write("tabs.txt", "a\tb\n")
    repo.write("p.py", "x = 1\nprint(x)\n")
    repo.write("q.py", "y = 2\n")
    repo.commit("project")
    return repo


def _check(repo: Repo) -> tuple[dict[str, dict[str, object]], Path]:
    proc = repo.gatekit("check", "--all", "--json")
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    run_dir = repo.path / ".git" / "gatekit" / "runs" / data["run_id"]
    return {g["id"]: g for g in data["gates"]}, run_dir


def _log(run_dir: Path, gate: dict[str, object]) -> str:
    return (run_dir / str(gate["log"])).read_text()


def test_pygrep_node_and_local_python_match_pre_commit(langs: Repo, tmp_path: Path) -> None:
    gates, run_dir = _check(langs)
    theirs, output = pre_commit_run(langs.path)
    assert theirs == {"no tabs": "Failed", "no-print": "Failed", "py-prefix": "Passed"}
    assert gates["no-tabs"]["outcome"] == "failed"
    assert gates["no-tabs"]["reason"] == (
        "hook no-tabs: `no-tabs [node, via pre-commit]` exited with 1"
    )
    assert gates["no-print"]["outcome"] == "failed"
    assert gates["no-print"]["reason"] == "hook no-print: `pygrep '\\bprint\\('` exited with 1"
    assert gates["py-prefix"]["outcome"] == "passed"
    # the same files flagged, with the same words
    for gate, flagged in (("no-tabs", "tabs.txt: has a tab"), ("no-print", "p.py:2:print(x)")):
        assert flagged in output
        assert flagged in _log(run_dir, gates[gate])
    assert "q.py" not in _log(run_dir, gates["no-print"])
    # the local python hook without additional_dependencies: pre-commit keeps its env in a
    # repository of its own under PRE_COMMIT_HOME; gatekit ran the hook in that same env
    ours = [ln for ln in _log(run_dir, gates["py-prefix"]).splitlines() if ln.startswith("prefix=")]
    mine = {ln.removeprefix("prefix=") for ln in ours}
    assert mine == {
        ln.removeprefix("prefix=") for ln in output.splitlines() if ln.startswith("prefix=")
    }
    env = Path(mine.pop())
    assert env.name.startswith("py_env-") and env.parent.parent == tmp_path / "pre-commit-home"
    assert (env / ".install_state_v2").is_file()
    node_envs = list((tmp_path / "pre-commit-home").glob("*/node_env-*"))
    assert len(node_envs) == 1  # built once, by pre-commit, shared by both
    # a fixed tree: every hook passes, the node hook's env reused (nothing built again)
    langs.write("tabs.txt", "a b\n")
    langs.write("p.py", "x = 1\n")
    langs.commit("fixed")
    gates, _ = _check(langs)
    assert {g: gates[g]["outcome"] for g in HOOKS} == dict.fromkeys(HOOKS, "passed")
    assert pre_commit_run(langs.path)[0] == dict.fromkeys(
        ("no tabs", "no-print", "py-prefix"), "Passed"
    )
    assert list((tmp_path / "pre-commit-home").glob("*/node_env-*")) == node_envs


def test_rust_hook_is_built_by_pre_commit_and_runs_through_it(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("no cargo on this machine")
    cargo_home = Path(cargo).resolve().parent.parent
    if (cargo_home.parent / ".rustup").is_dir():  # rustup's proxies: the real toolchains
        monkeypatch.setenv("CARGO_HOME", str(cargo_home))
        monkeypatch.setenv("RUSTUP_HOME", str(cargo_home.parent / ".rustup"))
    rust_repo, rev = rust_hook_repo(tmp_path / "rust-hook")
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n-   repo: {rust_repo}\n    rev: {rev}\n    hooks:\n    -   id: no-crlf\n",
    )
    repo.write("validation.yaml", "version: 1\ngates:\n  - {id: no-crlf, pre-commit: no-crlf}\n")
    repo.write("dos.txt", b"a\r\nb\r\n")
    repo.write("unix.txt", "a\nb\n")
    repo.commit("project")
    gates, run_dir = _check(repo)
    assert gates["no-crlf"]["outcome"] == "failed"
    assert gates["no-crlf"]["reason"] == (
        "hook no-crlf: `no-crlf [rust, via pre-commit]` exited with 1"
    )
    log = _log(run_dir, gates["no-crlf"])
    theirs, output = pre_commit_run(repo.path)
    assert theirs == {"no crlf": "Failed"}
    assert "dos.txt: has CRLF" in log and "dos.txt: has CRLF" in output
    assert "unix.txt" not in log and "unix.txt" not in output
    assert len(list((tmp_path / "pre-commit-home").glob("*/rustenv-*"))) == 1  # built once
