"""The command line: --version (fast, lazy imports), plan on the default policy, usage errors, install."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Repo, git, run_gatekit, wheelhouse_env

import gatekit

HEAVY = ("pygit2", "pydantic", "nox", "yaml", "jsonschema", "detect_secrets", "junitparser")
SCRIPT = Path(sys.executable).parent / "gatekit"


def _run(
    *cmd: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=env,
    )


def test_version_console_script() -> None:
    if not SCRIPT.is_file():
        pytest.skip("the gatekit console script is not installed next to this interpreter")
    proc = _run(SCRIPT, "--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0,
        f"gatekit {gatekit.__version__}\n",
        "",
    )


def test_version_python_dash_m(tmp_path: Path) -> None:
    proc = run_gatekit(tmp_path, "--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0,
        f"gatekit {gatekit.__version__}\n",
        "",
    )


def test_version_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from gatekit.cli import main\n"
        "rc = main(['--version'])\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), rc)\n"
    )
    proc = _run(sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[] 0"


def test_version_importtime_shows_no_heavy_module(tmp_path: Path) -> None:
    proc = _run(sys.executable, "-X", "importtime", "-m", "gatekit", "--version", cwd=tmp_path)
    assert proc.returncode == 0
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if "|" in line
    }
    assert "gatekit" in imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))


def test_plan_without_config_uses_the_default_policy(empty_repo: Repo) -> None:
    proc = empty_repo.gatekit("plan", "--changed", "a.json")
    assert proc.returncode == 0, proc.stderr
    assert "policy gatekit:default" in proc.stdout
    assert "run     parse-json" in proc.stdout
    as_json = json.loads(empty_repo.gatekit("plan", "--json", "--changed", "a.json").stdout)
    assert [p["name"] for p in as_json["policies"]] == ["gatekit:default"]


def test_plan_without_changed_computes_them(repo: Repo) -> None:
    repo.write("data.json", "{}\n")
    repo.git("add", "data.json")
    proc = repo.gatekit("plan", "--json", "--event", "pre-commit")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["context"]["changed"] == ["data.json"]
    assert {g["id"]: g["decision"] for g in plan["gates"]}["parse-json"] == "run"


def test_plan_explain_shows_every_reason(empty_repo: Repo) -> None:
    proc = empty_repo.gatekit("plan", "--explain", "--changed", "x.toml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("why: ") == 8
    assert proc.stdout.rstrip().endswith("6 to run, 2 skipped, 0 manual")


def test_plan_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_gatekit(
        tmp_path, "plan", "--changed", "x", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    )
    assert proc.returncode == 2
    assert "not a git repository" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [["frobnicate"], ["plan", "--no-such-flag"], ["plan", "--event", "push"], ["--bogus"], []],
    ids=["unknown-command", "unknown-flag", "bad-choice", "unknown-global", "no-command"],
)
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    proc = run_gatekit(tmp_path, *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "usage: gatekit" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_exits_0(tmp_path: Path) -> None:
    proc = run_gatekit(tmp_path, "--help")
    assert proc.returncode == 0
    assert "plan" in proc.stdout


@pytest.mark.slow
def test_pip_install_into_a_fresh_venv(tmp_path: Path, wheelhouse: Path) -> None:
    """A wheel built from the source ships policies/ and schemas/ (as gatekit/_data).

    pip resolves gatekit's dependencies from the run's wheelhouse, not the index:
    the same resolution, without ~30 s of index queries (``.ci/run``'s own install
    resolves against the index every run)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("gatekit", "policies", "schemas"):
        shutil.copytree(
            ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "_data")
        )
    venv = tmp_path / "venv"
    made = _run(sys.executable, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    env = wheelhouse_env(wheelhouse)
    installed = _run(venv / "bin" / "python", "-m", "pip", "install", "-q", str(src), env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    work = tmp_path / "fresh"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    version = _run(venv / "bin" / "gatekit", "--version", cwd=work, env=env)
    assert (version.returncode, version.stdout) == (0, f"gatekit {gatekit.__version__}\n")
    plan = _run(venv / "bin" / "gatekit", "plan", "--changed", "a.json", cwd=work, env=env)
    assert plan.returncode == 0, plan.stderr
    assert "policy gatekit:default" in plan.stdout
    assert "run     parse-json" in plan.stdout
    where = _run(
        venv / "bin" / "python",
        "-c",
        "import gatekit.resources as r; print(r.policies_dir())",
        cwd=work,
        env=env,
    )
    assert "site-packages" in where.stdout and "_data" in where.stdout, where.stdout
