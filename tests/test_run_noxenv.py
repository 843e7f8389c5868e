"""Nox environments: generated sessions, the ready marker and the hot path, repo noxfiles."""

from __future__ import annotations

import os
import shlex
import sys
import textwrap
from pathlib import Path

import pytest
from run_helpers import TmpShadow, events, gate, plan, py, retries, run, tiny_wheel

from gatekit.results import Outcome
from gatekit.run import noxenv
from gatekit.run.isolation import overlay_available
from gatekit.run.proc import run_process

IMPORT_DEP = "python -c " + shlex.quote(
    "import gatekit_tinydep, sys; print('VALUE', gatekit_tinydep.VALUE, sys.prefix)"
)


def _env_phases(run_dir: Path) -> list[str]:
    return [e["gate"] for e in events(run_dir) if e["phase"] == "environment"]


def test_session_without_deps_runs_directly_without_nox(tmp_path: Path) -> None:
    res, run_dir = run(plan(gate("direct", py("print('hi')"), "true")), tmp_path)
    assert res["direct"].outcome is Outcome.PASSED
    assert _env_phases(run_dir) == []
    assert not list((tmp_path / "envs").glob("*/noxfile.py"))
    assert "nox" not in (run_dir / "logs/direct.log").read_text()


@pytest.mark.slow
def test_session_with_deps_creates_a_cached_env_then_takes_the_hot_path(tmp_path: Path) -> None:
    wheel = tiny_wheel(tmp_path / "wheels")
    # Two gates, same deps, in parallel: one creates the environment, the other waits for the lock.
    p = plan(gate("a", IMPORT_DEP, deps=[str(wheel)]), gate("b", IMPORT_DEP, deps=[str(wheel)]))
    res, run_dir = run(p, tmp_path / "cold", env_cache_dir=tmp_path / "envs", jobs=2)
    assert res["a"].outcome is Outcome.PASSED, (run_dir / "logs/a.log").read_text()
    assert res["b"].outcome is Outcome.PASSED, (run_dir / "logs/b.log").read_text()
    logs = [(run_dir / f"logs/{g}.log").read_text() for g in ("a", "b")]
    assert sum("$ nox --noxfile" in t for t in logs) == 1  # created once
    assert all("VALUE 42" in t for t in logs)
    spec = noxenv.spec_for(p.gate("a"))
    assert spec is not None
    ready = noxenv.ready_env(tmp_path / "envs", spec.key)
    assert ready is not None and ready.venv.is_relative_to(tmp_path / "envs")
    assert str(ready.venv) in logs[0] + logs[1]  # the command ran inside the env
    # Hot path: ready marker found, no nox at all.
    res2, run_dir2 = run(p, tmp_path / "hot", env_cache_dir=tmp_path / "envs", jobs=2)
    assert all(r.outcome is Outcome.PASSED for r in res2.values())
    assert _env_phases(run_dir2) == []
    assert "$ nox" not in (run_dir2 / "logs/a.log").read_text()


@pytest.mark.slow
def test_virtualenv_backend_through_the_generated_noxfile(tmp_path: Path) -> None:
    wheel = tiny_wheel(tmp_path / "wheels")
    cache = tmp_path / "envs"
    spec = noxenv.EnvSpec(python=None, deps=(str(wheel),), backend="virtualenv")
    noxenv.prepare_creation(spec, cache)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env["PIP_NO_INDEX"] = "1"
    res = run_process(
        noxenv.creation_command(spec, cache), cwd=cache / spec.key, env=env, timeout=120
    )
    assert res.ok
    ready = noxenv.mark_ready(spec, cache)
    assert noxenv.ready_env(cache, spec.key) == ready
    out = run_process(
        [str(ready.bin_dir / "python"), "-c", "import gatekit_tinydep"],
        cwd=tmp_path,
        env=env,
        timeout=30,
    )
    assert out.ok


def test_environment_failure_is_transient_and_retried(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope" / "missing_pkg-1.0-py3-none-any.whl")
    p = plan(gate("broken", "true", deps=[missing], retry=retries(transient=1, backoff=0.01)))
    res, run_dir = run(p, tmp_path)
    r = res["broken"]
    assert r.outcome is Outcome.ERROR
    assert [a.failure_class for a in r.attempts] == ["environment", "environment"]
    assert "creating the environment failed" in r.reason
    runbook = (run_dir / "reports/broken.md").read_text()
    assert "environment" in runbook and "deps" in runbook
    spec = noxenv.spec_for(p.gate("broken"))
    assert spec is not None and noxenv.ready_env(tmp_path / "envs", spec.key) is None


NOXFILE = textwrap.dedent(
    """
    import nox

    @nox.session(venv_backend="none")
    def check(session):
        session.run({py!r}, "-c", "import os; print('IN', os.getcwd()); open('from_nox.txt', 'w').write('x')")

    @nox.session(venv_backend="none")
    def broken(session):
        session.run({py!r}, "-c", "raise SystemExit(4)")
    """
)


def test_nox_gate_runs_the_shadow_noxfile(tmp_path: Path) -> None:
    shadow = TmpShadow(tmp_path / "shadow")
    shadow.path.mkdir()
    (shadow.path / "noxfile.py").write_text(NOXFILE.format(py=sys.executable))
    p = plan(gate("ok", nox="check"), gate("bad", nox="broken"))
    res, run_dir = run(p, tmp_path, shadow=shadow)
    assert res["ok"].outcome is Outcome.PASSED, (run_dir / "logs/ok.log").read_text()
    assert f"IN {shadow.path}" in (run_dir / "logs/ok.log").read_text()
    if overlay_available(tmp_path):
        # it ran in the shadow, in a view of its own: its write never reached the shadow
        assert not (shadow.path / "from_nox.txt").exists()
    assert res["bad"].outcome is Outcome.FAILED
    assert "nox -f" in (run_dir / "reports/bad.md").read_text()


def test_nox_gate_without_noxfile_is_an_error(tmp_path: Path) -> None:
    res, _ = run(plan(gate("ok", nox="check")), tmp_path)
    assert res["ok"].outcome is Outcome.ERROR and "noxfile.py" in res["ok"].reason


def test_env_key_depends_on_python_deps_and_backend() -> None:
    a = noxenv.EnvSpec("3.11", ("ruff==0.8.0",), "uv")
    assert a.key == noxenv.EnvSpec("3.11", ("ruff==0.8.0",), "uv").key
    assert a.key != noxenv.EnvSpec("3.12", ("ruff==0.8.0",), "uv").key
    assert a.key != noxenv.EnvSpec("3.11", ("ruff==0.8.1",), "uv").key
    assert a.key != noxenv.EnvSpec("3.11", ("ruff==0.8.0",), "virtualenv").key
