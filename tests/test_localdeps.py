"""Local packages and requirement files in ``session.deps``, end to end through the CLI.

The packages are small real ones built by hatchling from the package index;
their dependencies (iniconfig, tomli) come from the index too. Each test has its
own gatekit environment cache; the uv cache is shared by the run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from check_support import check_json, explain, gate_log, gate_of, run_dir_of, write_config
from conftest import Repo
from local_support import hatch_package, share_uv_cache

from gatekit.run import localdeps

SHOW = (
    "import gkdemo, sys; print('VALUE', gkdemo.VALUE, 'FILE', gkdemo.__file__); "
    "print('PREFIX', sys.prefix)"
)


@pytest.fixture(autouse=True)
def _uv_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    share_uv_cache(tmp_path_factory, monkeypatch)


def cmd(code: str) -> str:
    import shlex

    return "python -c " + shlex.quote(code)


def session_gate(gid: str, deps: list[str], *run: str, **extra: object) -> dict[str, object]:
    return {"id": gid, "session": {"deps": deps, "run": list(run)}, **extra}


def value_line(log: str) -> str:
    return next(line for line in log.splitlines() if line.startswith("VALUE "))


def builds(log: str) -> int:
    return sum(
        1 for line in log.splitlines() if line.startswith("$ ") and " build --wheel " in line
    )


def overlay_installs(log: str) -> int:
    return sum(1 for line in log.splitlines() if line.startswith("$ ") and "--target" in line)


# --- parsing ----------------------------------------------------------------------------


def test_resolve_sorts_deps_into_index_files_and_local_packages() -> None:
    files = {
        "requirements/test.txt": "-r base.txt\n-c ../constraints.txt\npytest>=8  # the runner\n-e ./sub\n",
        "requirements/base.txt": "attrs\\\n>=21\n\n# comment\n",
        "constraints.txt": "pytest<10\n",
    }
    r = localdeps.resolve(
        [".[test, docs]", "-e ./x/y", "-r requirements/test.txt", "ruff==0.8.0"], files.get
    )
    assert r.index == ("ruff==0.8.0",)
    assert [(f.option, f.path, f.text) for f in r.files] == [
        ("-c", "constraints.txt", "pytest<10\n"),
        ("-r", "requirements/test.txt", "attrs>=21\npytest>=8\n"),
    ]
    assert r.local == (
        localdeps.LocalPackage("", ("docs", "test")),
        localdeps.LocalPackage("x/y", (), editable=True),
        localdeps.LocalPackage("sub", (), editable=True),
    )
    assert r.read == ("requirements/test.txt", "requirements/base.txt", "constraints.txt")
    assert not localdeps.needs_candidate(["pytest", "pkg @ https://example.invalid/p.whl"])
    assert localdeps.needs_candidate(["--requirement=req.txt"])


@pytest.mark.parametrize(
    ("deps", "message"),
    [
        (["../outside"], "leaves the candidate tree"),
        (["-r /etc/passwd"], "only paths inside the candidate"),
        (["-c missing.txt"], "-c missing.txt: no such file in the candidate"),
        (["-e pytest"], "-e takes a path in the candidate"),
    ],
)
def test_resolve_refuses_what_the_candidate_does_not_hold(deps: list[str], message: str) -> None:
    with pytest.raises(localdeps.LocalDepsError, match=message):
        localdeps.resolve(deps, {"-r": "x"}.get)


# --- end to end ---------------------------------------------------------------------------


@pytest.mark.slow
def test_local_packages_come_from_the_candidate_with_their_declared_deps(repo: Repo) -> None:
    hatch_package(
        repo,
        "",
        "gkdemo",
        value="staged",
        dependencies=("iniconfig",),
        extras={"toml": ["tomli"]},
        script=True,
    )
    hatch_package(repo, "sub/helper", "gkhelper", value="helper")
    probe = cmd(
        SHOW + "; import iniconfig, tomli, gkhelper; print('HELPER', gkhelper.VALUE); "
        "print('INI', iniconfig.__file__)"
    )
    write_config(repo, [session_gate("t", [".[toml]", "./sub/helper"], probe, "gkdemo-where")])
    repo.commit("package")
    # The user's working tree says otherwise: the gate must see the staged candidate.
    repo.write("src/gkdemo/__init__.py", "VALUE = 'unstaged'\n")
    proc, doc = check_json(repo, "--staged", expect=0)
    log = gate_log(proc, doc, "t")
    assert "VALUE staged FILE" in log, log
    file = value_line(log).split("FILE ", 1)[1]
    assert "/local/overlays/" in file, file  # the candidate's build, not the user's tree
    assert "HELPER helper" in log
    assert "/local/overlays/" not in log.split("INI ", 1)[1].splitlines()[0]  # from the index
    where = next(line for line in log.splitlines() if line.startswith("WHERE "))
    assert "/local/overlays/" in where and where.endswith(" staged")  # its console script
    assert builds(log) == 2 and overlay_installs(log) == 2
    assert "gatekit_deps_of_gkdemo-0-py3-none-any.whl[toml]" in log


@pytest.mark.slow
def test_an_unchanged_package_is_not_rebuilt_nor_reinstalled(repo: Repo) -> None:
    hatch_package(repo, "pkg", "gkdemo", value="one")
    write_config(repo, [session_gate("t", ["./pkg"], cmd(SHOW))])
    repo.write("notes.txt", "1\n")
    repo.commit("package")
    proc, doc = check_json(repo, "--rev", "HEAD", "--no-cache", expect=0)
    first = gate_log(proc, doc, "t")
    assert builds(first) == 1 and overlay_installs(first) == 1
    # A change outside the package: same tree OID, nothing built or installed.
    repo.write("notes.txt", "2\n")
    repo.commit("notes")
    proc, doc = check_json(repo, "--rev", "HEAD", "--no-cache", expect=0)
    second = gate_log(proc, doc, "t")
    assert builds(second) == 0 and overlay_installs(second) == 0, second
    assert value_line(second) == value_line(first)
    # A change inside: built and installed again, in a new overlay.
    repo.write("pkg/src/gkdemo/__init__.py", "VALUE = 'two'\n")
    repo.commit("package changed")
    proc, doc = check_json(repo, "--rev", "HEAD", "--no-cache", expect=0)
    third = gate_log(proc, doc, "t")
    assert builds(third) == 1 and overlay_installs(third) == 1
    assert value_line(third).startswith("VALUE two ") and value_line(third) != value_line(first)


@pytest.mark.slow
def test_requirement_and_constraint_files_are_read_from_the_candidate(repo: Repo) -> None:
    repo.write("requirements/test.txt", "-r base.txt\n-c ../constraints.txt\n")
    repo.write("requirements/base.txt", "iniconfig\n")
    repo.write("constraints.txt", "iniconfig==2.0.0\n")
    probe = cmd("from importlib.metadata import version; print('VERSION', version('iniconfig'))")
    write_config(repo, [session_gate("t", ["-r requirements/test.txt"], probe)])
    repo.commit("requirements")
    proc, doc = check_json(repo, "--rev", "HEAD", expect=0)
    assert "VERSION 2.0.0" in gate_log(proc, doc, "t")
    # Another constraint in the candidate is another environment (and another cache key).
    repo.write("constraints.txt", "iniconfig==2.1.0\n")
    repo.commit("constraints")
    proc, doc = check_json(repo, "--rev", "HEAD", expect=0)
    assert gate_of(doc, "t")["outcome"] == "passed"
    log = gate_log(proc, doc, "t")
    assert "VERSION 2.1.0" in log and "$ nox --noxfile" in log


@pytest.mark.slow
def test_editable_install_points_at_the_shadow(repo: Repo) -> None:
    hatch_package(repo, "", "gkdemo", value="editable")
    write_config(repo, [session_gate("t", ["-e ."], cmd(SHOW))])
    repo.commit("package")
    proc, doc = check_json(repo, "--rev", "HEAD", expect=0)
    line = value_line(gate_log(proc, doc, "t"))
    assert line.startswith("VALUE editable FILE ")
    file = Path(line.split("FILE ", 1)[1])
    assert "/gatekit/shadows/" in file.as_posix() and file.is_relative_to(repo.path / ".git")


@pytest.mark.slow
def test_a_package_that_fails_to_build_fails_the_gate_in_phase_install(repo: Repo) -> None:
    repo.write(
        "pyproject.toml",
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
    )
    repo.write("setup.py", "raise SystemExit('gkdemo: this package cannot be built')\n")
    write_config(repo, [session_gate("t", [".", "iniconfig"], "python -c pass")])
    repo.commit("broken package")
    proc, doc = check_json(repo, "--rev", "HEAD", expect=1)
    g = gate_of(doc, "t")
    assert g["outcome"] == "failed", explain(proc)
    assert g["reason"].startswith("local package . did not build (exit code")
    assert [a["failure_class"] for a in g["attempts"]] == ["deterministic"]
    runbook = (run_dir_of(proc) / "reports" / "t.md").read_text()
    assert "- phase: install" in runbook
    assert "gkdemo: this package cannot be built" in runbook  # the build output
    assert "fix the package in your change" in runbook and "build --wheel" in runbook


@pytest.mark.slow
def test_two_concurrent_checks_of_two_candidates_never_share_the_installed_package(
    tmp_path: Path, repo: Repo
) -> None:
    """Two clones, one environment cache (the user's), checked at the same time."""
    hatch_package(repo, "", "gkdemo", value="base")
    expect = textwrap.dedent(
        """
        import gkdemo, pathlib, time
        want = pathlib.Path('expected.txt').read_text().strip()
        for _ in range(20):
            assert gkdemo.VALUE == want, (gkdemo.VALUE, want)
            time.sleep(0.05)
            import importlib; importlib.reload(gkdemo)
        print('SAW', gkdemo.VALUE)
        """
    )
    write_config(repo, [session_gate("t", [".", "iniconfig"], cmd(expect))])
    repo.write("expected.txt", "base\n")
    repo.commit("base")
    clones = []
    for name in ("one", "two"):
        path = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(repo.path), str(path)], check=True)
        clone = Repo(path)
        clone.write("src/gkdemo/__init__.py", f"VALUE = {name!r}\n")
        clone.write("expected.txt", f"{name}\n")
        clone.commit(name)
        clones.append(clone)
    # Warm the environment once, so both checks race on the install step and the run.
    check_json(clones[0], "--rev", "HEAD~1", expect=0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gatekit", "check", "--plain", "--json", "--rev", "HEAD"],
            cwd=c.path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in clones
    ]
    for name, p in zip(("one", "two"), procs, strict=True):
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"{name}: {err[-3000:]}"
        assert f"SAW {name}" in err


# --- the result cache -------------------------------------------------------------------


def test_cache_key_of_a_gate_with_paths_follows_its_local_packages_and_requirement_files(
    repo: Repo,
) -> None:
    from test_cache_keys import gate, key

    from gatekit.config.models import SessionSpec

    deps = ["-r requirements/test.txt", "./pkg", "pytest"]
    g = gate(paths=("tests/**",), session=SessionSpec(deps=deps, run=["pytest"]))
    repo.write("tests/test_a.py", "def test(): pass\n")
    repo.write("requirements/test.txt", "-r base.txt\n")
    repo.write("requirements/base.txt", "pytest\n")
    repo.write("pkg/pyproject.toml", "[project]\n")
    repo.write("docs/index.md", "x\n")
    first = key(repo, g)
    repo.write("docs/index.md", "changed\n")
    assert key(repo, g) == first  # outside the gate's inputs
    for rel, text in (
        ("requirements/base.txt", "pytest<9\n"),  # a nested requirement file
        ("pkg/src/mod.py", "VALUE = 1\n"),  # the local package
    ):
        before = key(repo, g)
        repo.write(rel, text)
        assert key(repo, g) != before, rel


@pytest.mark.slow
def test_without_uv_virtualenv_and_pip_do_the_same(repo: Repo) -> None:
    hatch_package(repo, "", "gkdemo", value="pip", script=True)
    write_config(repo, [session_gate("t", ["."], cmd(SHOW), "gkdemo-where")])
    repo.commit("package")
    proc, doc = check_json(repo, "--rev", "HEAD", env={"GATEKIT_NO_UV": "1"}, expect=0)
    log = gate_log(proc, doc, "t")
    assert "Creating virtual environment (virtualenv)" in log
    assert " -m pip wheel --no-deps " in log and " -m pip install --no-deps --target " in log
    assert "/local/overlays/" in value_line(log) and "VALUE pip" in log
    where = next(line for line in log.splitlines() if line.startswith("WHERE "))
    assert where.endswith(" pip")


@pytest.mark.slow
@pytest.mark.parametrize("isolation", ["default", "exclusive"])
def test_a_setuptools_build_leaves_nothing_in_the_shadow(repo: Repo, isolation: str) -> None:
    repo.write(
        "setup.py",
        "from setuptools import setup\nsetup(name='gkdemo', version='1', py_modules=['gkdemo'])\n",
    )
    repo.write("gkdemo.py", "VALUE = 'setuptools'\n")
    look = cmd(
        "import os, gkdemo; print('VALUE', gkdemo.VALUE, 'FILE', gkdemo.__file__); "
        "print('LEFT', sorted(p for p in os.listdir('.') if p == 'build' or p.endswith('.egg-info')))"
    )
    write_config(repo, [session_gate("t", ["."], look)])
    repo.commit("setup.py package")
    env = {"GATEKIT_ISOLATION": "exclusive"} if isolation == "exclusive" else None
    proc, doc = check_json(repo, "--rev", "HEAD", env=env, expect=0)
    log = gate_log(proc, doc, "t")
    assert "running bdist_wheel" in log  # the backend did build in place
    assert "LEFT []" in log, log[-2000:]


def test_gc_removes_local_builds_unused_for_long_and_keeps_the_others(repo: Repo) -> None:
    import os
    import time

    from gatekit.run.envcache import default_cache_dir

    local = default_cache_dir() / "local"
    now = time.time()
    for rel, age_days in (("wheels/old", 30), ("overlays/old", 20), ("overlays/new", 1)):
        (local / rel).mkdir(parents=True)
        (local / rel / "ready").write_text("ok\n")
        os.utime(local / rel / "ready", (now - age_days * 86400,) * 2)
    proc = repo.gatekit("gc", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would remove local build wheels/old" in proc.stdout
    assert (local / "wheels/old").is_dir()
    proc = repo.gatekit("gc")
    assert proc.returncode == 0, proc.stderr
    assert "removed local build wheels/old" in proc.stdout
    assert "removed local build overlays/old" in proc.stdout
    assert sorted(p.name for p in (local / "overlays").iterdir()) == ["new"]
    assert not (local / "wheels/old").exists()


def test_a_requirement_file_the_candidate_lacks_fails_in_phase_install(repo: Repo) -> None:
    write_config(repo, [session_gate("t", ["-r requirements/test.txt"], "python -c pass")])
    repo.write("requirements/test.txt", "pytest\n")  # in the working tree, not in the candidate
    repo.commit("config")
    repo.git("rm", "-q", "--cached", "requirements/test.txt")
    proc, doc = check_json(repo, "--staged", expect=1)
    g = gate_of(doc, "t")
    assert g["outcome"] == "failed", explain(proc)
    assert g["reason"] == (
        "deps of the session: -r requirements/test.txt: no such file in the candidate"
    )
    runbook = (run_dir_of(proc) / "reports" / "t.md").read_text()
    assert "- phase: install" in runbook and "Add the file or package to your change" in runbook
