"""pre-commit: HOOK_ID gates with real hook repositories (clones of upstream bundles)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Repo
from precommit_support import HOOKS_BUNDLE, RUFF_BUNDLE, clone_bundle, config, pre_commit_run

# one worker runs this module: the hook environments of its session's PRE_COMMIT_HOME
# are built once, not once per worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pre-commit-hooks")]

LOCAL = """-   repo: local
    hooks:
    -   id: tags
        name: tags
        language: python
        entry: identify-cli
        args: [a.py]
        pass_filenames: false
        additional_dependencies: [identify]
    -   id: no-todo
        name: no-todo
        language: system
        entry: python3 -c "import sys; sys.exit(any('TODO' in open(f).read() for f in sys.argv[1:]))"
        files: '[.]py$'
"""
FIXED = ("a.py", "b.txt", "c.md", "d.txt", "e.py")
GATES = (
    "end-of-file-fixer",
    "trailing-whitespace",
    "check-yaml",
    "check-added-large-files",
    "ruff-check",
    "ruff-format",
    "tags",
    "no-todo",
)


@pytest.fixture(scope="session")
def hook_repos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Clones of the two hook repositories, and one PRE_COMMIT_HOME for the whole session."""
    top = tmp_path_factory.mktemp("hook-repos")
    return (
        clone_bundle(HOOKS_BUNDLE, top / "pre-commit-hooks"),
        clone_bundle(RUFF_BUNDLE, top / "ruff-pre-commit"),
        top / "pre-commit-home",
    )


@pytest.fixture
def hooked(
    repo: Repo, hook_repos: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Repo]:
    hooks, ruff, home = hook_repos
    monkeypatch.setenv("PRE_COMMIT_HOME", str(home))
    repo.write(".pre-commit-config.yaml", config(hooks, ruff, LOCAL))
    repo.write(
        "validation.yaml",
        "version: 1\ngates:\n" + "".join(f"  - {{id: {g}, pre-commit: {g}}}\n" for g in GATES),
    )
    repo.write("a.py", "x=1\n")  # ruff format's fix
    repo.write("c.md", "text   \n")  # trailing-whitespace's
    repo.write("b.txt", "no newline at the end")  # end-of-file-fixer's
    # two fixers of one file: pre-commit runs the later on the earlier's output
    repo.write("d.txt", "both fixers   ")  # end-of-file-fixer, then trailing-whitespace
    repo.write("e.py", "y=2   \n")  # trailing-whitespace, then ruff format (another repo)
    repo.write("bad.yaml", "a: [1\n")
    repo.write("ok.yaml", "a: 1\n")
    repo.write("todo.py", "# TODO: later\n")
    repo.commit("project")
    yield repo


def _check(repo: Repo, *args: str) -> dict[str, dict[str, object]]:
    proc = repo.gatekit("check", "--all", "--json", *args)
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    return {g["id"]: g for g in data["gates"]}


def _pre_commit(repo: Repo) -> dict[str, str]:
    """pre-commit run --all-files: hook name -> Passed/Failed/Skipped."""
    return pre_commit_run(repo.path)[0]


def test_hooks_match_pre_commit_run_all_files(
    hooked: Repo, hook_repos: tuple[Path, Path, Path]
) -> None:
    gates = _check(hooked)
    # the same tree through pre-commit itself (it writes its fixes into the working tree)
    names = {
        "end-of-file-fixer": "fix end of files",
        "trailing-whitespace": "trim trailing whitespace",
        "check-yaml": "check yaml",
        "check-added-large-files": "check for added large files",
        "ruff-check": "ruff check",
        "ruff-format": "ruff format",
        "tags": "tags",
        "no-todo": "no-todo",
    }
    theirs = _pre_commit(hooked)
    for gate_id, name in names.items():
        ours = gates[gate_id]["outcome"]
        assert (ours == "passed") == (theirs[name] in ("Passed", "Skipped")), (
            gate_id,
            ours,
            theirs,
        )
    assert "hook check-yaml" in str(gates["check-yaml"]["reason"])
    # the runbook's command to reproduce it finds the hook where pre-commit built it
    runs = sorted((hooked.path / ".git" / "gatekit" / "runs").glob("2*"))
    book = json.loads((runs[-1] / "reports" / "check-yaml.json").read_text())
    home = str(hook_repos[2])
    assert f"PATH={home}/" in book["next_action"], book["next_action"]
    assert f"/bin:$PATH {book['command']}`" in book["next_action"]
    assert "made fixes" in str(gates["end-of-file-fixer"]["reason"])
    assert gates["no-todo"]["outcome"] == "failed"
    assert "hook no-todo" in str(gates["no-todo"]["reason"])
    assert gates["tags"]["outcome"] == "passed"
    # what pre-commit wrote, against what gatekit's fixes write
    pre_commit_wrote = {p: (hooked.path / p).read_bytes() for p in FIXED}
    assert hooked.git("status", "--porcelain").split() == [x for p in FIXED for x in ("M", p)]
    hooked.git("checkout", "--", ".")
    fixers = {g: gates[g]["fix_tree"] for g in ("end-of-file-fixer", "trailing-whitespace")}
    assert all(fixers.values())  # each gate's fix is its own, from the candidate as it is
    proc = hooked.gatekit("check", "--all", "--apply-fixes")
    assert "applied fixes to 5 file(s): a.py, b.txt, c.md, d.txt, e.py" in proc.stderr
    assert {p: (hooked.path / p).read_bytes() for p in FIXED} == pre_commit_wrote
    assert pre_commit_wrote == {
        "a.py": b"x = 1\n",
        "b.txt": b"no newline at the end\n",
        "c.md": b"text\n",
        "d.txt": b"both fixers\n",
        "e.py": b"y = 2\n",
    }


def test_a_pass_looked_up_before_its_hook_was_resolved_is_found_next_time(
    hooked: Repo,
) -> None:
    # The first gate's key is looked up before anything resolved the hooks (a fresh
    # repository): its pass must be recorded under the key a later run computes.
    hooked.write(
        "validation.yaml",
        "version: 1\ngates:\n  - {id: big, pre-commit: check-added-large-files}\n",
    )
    hooked.commit("one gate")
    assert _check(hooked)["big"]["outcome"] == "passed"
    again = _check(hooked)["big"]
    assert (again["outcome"], str(again["reason"])[:34]) == (
        "cached",
        "passed on the same inputs at check",
    )


def test_second_run_is_cached_and_built_once(
    hooked: Repo, hook_repos: tuple[Path, Path, Path]
) -> None:
    _check(hooked)
    envs = sorted(p.name for p in hook_repos[2].iterdir())
    gates = _check(hooked)
    assert gates["ruff-check"]["outcome"] == "cached"
    assert gates["tags"]["outcome"] == "cached"
    assert gates["check-yaml"]["outcome"] == "failed"  # failures are never cached
    assert sorted(p.name for p in hook_repos[2].iterdir()) == envs  # nothing built again
    # a file ruff's hooks are not given changes: they stay cached; a Python file: they run
    hooked.write("c.md", "other text\n")
    hooked.commit("docs")
    gates = _check(hooked)
    assert gates["ruff-check"]["outcome"] == "cached"
    assert gates["trailing-whitespace"]["outcome"] != "cached"
    hooked.write("d.py", "y = 2\n")
    hooked.commit("code")
    assert _check(hooked)["ruff-check"]["outcome"] == "passed"


def test_ruffs_cache_is_kept_between_checks_and_never_hides_a_finding_or_a_fix(
    hooked: Repo,
) -> None:
    """ruff keeps its cache under .git/gatekit/tool-caches/ruff, not in the gate's view (which
    goes with the view); the candidate is unchanged between the runs, so every file's entry
    is there for the second one, which still reports the same finding and makes the same fix."""
    hooked.write("lint.py", "import os\n")  # F401: ruff check fails on it
    hooked.commit("lint")
    cache = hooked.path / ".git" / "gatekit" / "tool-caches" / "ruff"
    runs = [_check(hooked, "--no-cache") for _ in range(2)]
    assert cache.is_dir() and any(p.is_file() for p in cache.rglob("*") if p.parent != cache)
    for gates in runs:
        check, fmt = gates["ruff-check"], gates["ruff-format"]
        assert check["outcome"] == "failed" and "hook ruff-check" in str(check["reason"]), check
        assert fmt["outcome"] == "failed" and "made fixes" in str(fmt["reason"]), fmt
        fixed = hooked.git("diff", "--name-only", "HEAD", str(fmt["fix_tree"])).split()
        assert fixed == ["a.py", "e.py"]
    assert not (hooked.path / ".ruff_cache").exists()
    assert hooked.git("status", "--porcelain") == ""


def test_unknown_hook_is_an_error_naming_it(hooked: Repo) -> None:
    hooked.write("validation.yaml", "version: 1\ngates:\n  - {id: x, pre-commit: check-yml}\n")
    hooked.commit("typo")
    gates = _check(hooked)
    assert gates["x"]["outcome"] == "error"
    assert gates["x"]["reason"] == (
        ".pre-commit-config.yaml has no hook 'check-yml' (did you mean 'check-yaml'?)"
    )


STAMP = """import sys

for name in sys.argv[1:]:
    with open(name, "a") as f:
        f.write("stamp   \\n")
"""


def test_a_later_fixer_sees_an_earlier_fixers_file_it_did_not_fix_itself(
    repo: Repo, hook_repos: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """stamp adds a line with trailing blanks to x.cfg; trailing-whitespace (later in the
    config) fixes only c.md in the candidate, but pre-commit runs it on stamp's output."""
    hooks, _, home = hook_repos
    monkeypatch.setenv("PRE_COMMIT_HOME", str(home))
    repo.write(
        ".pre-commit-config.yaml",
        "repos:\n-   repo: local\n    hooks:\n    -   id: stamp\n        name: stamp\n"
        "        language: system\n        entry: python3 stamp.py\n        files: '[.]cfg$'\n"
        f"-   repo: {hooks}\n    rev: v6.0.0\n    hooks:\n    -   id: trailing-whitespace\n",
    )
    repo.write("stamp.py", STAMP)
    repo.write(
        "validation.yaml",
        "version: 1\ngates:\n  - {id: stamp, pre-commit: stamp}\n"
        "  - {id: trailing-whitespace, pre-commit: trailing-whitespace}\n",
    )
    repo.write("x.cfg", "a\n")
    repo.write("c.md", "text   \n")
    repo.commit("project")
    _pre_commit(repo)
    pre_commit_wrote = {p: (repo.path / p).read_bytes() for p in ("x.cfg", "c.md")}
    assert pre_commit_wrote == {"x.cfg": b"a\nstamp\n", "c.md": b"text\n"}
    repo.git("checkout", "--", ".")
    gates = _check(repo)
    assert "made fixes" in str(gates["stamp"]["reason"])
    assert "made fixes" in str(gates["trailing-whitespace"]["reason"])
    proc = repo.gatekit("check", "--all", "--apply-fixes")
    assert "applied fixes to 2 file(s): c.md, x.cfg" in proc.stderr
    assert {p: (repo.path / p).read_bytes() for p in ("x.cfg", "c.md")} == pre_commit_wrote
