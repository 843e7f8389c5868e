"""execute_plan end to end with real subprocesses: outcomes, sandbox, run directory."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest
from run_helpers import TmpShadow, events, gate, plan, py, run

from gatekit.errors import UsageError
from gatekit.results import Finding, GateResult, JUnitSummary, KpiResult, Outcome
from gatekit.run.execute import GateHooks, interrupted
from gatekit.run.sandbox import network_namespaces_available


def test_passing_and_failing_gates_write_the_run_directory(tmp_path: Path) -> None:
    p = plan(
        gate("ok", py("print('hello from ok')")),
        gate("bad", py("import sys; print('broken thing'); sys.exit(3)")),
    )
    stream = io.StringIO()
    res, run_dir = run(p, tmp_path, stream=stream)
    assert res["ok"].outcome is Outcome.PASSED
    assert res["ok"].log == "logs/ok.log"
    assert len(res["ok"].attempts) == 1
    bad = res["bad"]
    assert bad.outcome is Outcome.FAILED
    assert bad.attempts[0].exit_code == 3
    assert bad.attempts[0].failure_class == "deterministic"
    assert "exited with 3" in bad.reason
    assert "hello from ok" in (run_dir / "logs/ok.log").read_text()
    assert "[bad] broken thing" in (run_dir / "logs/all.log").read_text()
    st = json.loads((run_dir / "status/bad.json").read_text())
    assert st["phase"] == "failed"
    assert st["last_lines"] == ["broken thing"]
    assert st["log"] == "logs/bad.log"
    assert {"phase", "attempt", "pid", "started", "updated", "heartbeat"} <= st.keys()
    phases = [(e["gate"], e["phase"]) for e in events(run_dir)]
    assert ("ok", "running") in phases and ("ok", "passed") in phases
    runbook = (run_dir / "reports/bad.md").read_text()
    assert "exit code: 3" in runbook and "deterministic" in runbook
    assert "sys.exit(3)" in runbook and "broken thing" in runbook and "Next action" in runbook
    assert not (run_dir / "reports/ok.md").exists()
    out = stream.getvalue()
    assert "[ok] hello from ok" in out and "[bad] broken thing" in out
    assert not interrupted(list(res.values()))


def test_caller_secrets_and_git_vars_do_not_reach_gates(tmp_path: Path) -> None:
    environ = {
        **os.environ,
        "GITHUB_TOKEN": "ghp_not_a_real_token",
        "AWS_SECRET_ACCESS_KEY": "nope",
        "GIT_DIR": "/elsewhere/.git",
        "GIT_INDEX_FILE": "/elsewhere/index",
        "NAMED_ONE": "visible",
    }
    dump = py("import json, os; print('ENV=' + json.dumps(dict(os.environ)))")
    p = plan(
        gate("plain", dump),
        gate("named", dump, pass_env=("NAMED_ONE", "GIT_DIR"), env={"MINE": "1"}),
    )
    _, run_dir = run(p, tmp_path, environ=environ)

    def env_of(gid: str) -> dict[str, str]:
        line = next(
            x
            for x in (run_dir / f"logs/{gid}.log").read_text().splitlines()
            if x.startswith("ENV=")
        )
        return dict(json.loads(line[4:]))

    plain, named = env_of("plain"), env_of("named")
    for e in (plain, named):
        assert "GITHUB_TOKEN" not in e and "AWS_SECRET_ACCESS_KEY" not in e
        assert "GIT_DIR" not in e and "GIT_INDEX_FILE" not in e
        assert e["HOME"] != os.environ["HOME"]
        assert Path(e["HOME"]).is_relative_to(run_dir)
        assert Path(e["TMPDIR"]).is_relative_to(run_dir)
    assert "NAMED_ONE" not in plain
    assert named["NAMED_ONE"] == "visible" and named["MINE"] == "1"
    assert plain["HOME"] != named["HOME"]
    assert "ghp_not_a_real_token" not in (run_dir / "logs/all.log").read_text()


def test_cwd_is_the_shadow(tmp_path: Path) -> None:
    shadow = TmpShadow(tmp_path / "sh")
    shadow.path.mkdir()
    (shadow.path / "marker.txt").write_text("x")
    res, _ = run(plan(gate("cwd", py("open('marker.txt')"))), tmp_path, shadow=shadow)
    assert res["cwd"].outcome is Outcome.PASSED


@pytest.mark.skipif(not network_namespaces_available(), reason="no user namespaces here")
def test_network_false_runs_in_a_network_namespace(tmp_path: Path) -> None:
    code = "print('IFACES=' + ','.join(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))"
    res, run_dir = run(
        plan(gate("offline", py(code), network=False), gate("online", py(code))), tmp_path
    )
    assert res["offline"].network_isolated is True
    assert res["online"].network_isolated is None
    text = (run_dir / "logs/offline.log").read_text()
    assert "IFACES=lo\n" in text


def test_needs_skip_dependants_with_the_reason(tmp_path: Path) -> None:
    p = plan(
        gate("a", py("raise SystemExit(1)")),
        gate("b", py("pass"), needs=["a"]),
        gate("c", py("pass"), needs=["b"]),
        gate("d", py("pass")),
        gate("e", py("pass"), needs=["d"]),
    )
    res, _ = run(p, tmp_path)
    assert res["a"].outcome is Outcome.FAILED
    assert (res["b"].outcome, res["b"].reason) == (Outcome.SKIPPED, "needs a which failed")
    assert (res["c"].outcome, res["c"].reason) == (Outcome.SKIPPED, "needs b which was skipped")
    assert res["e"].outcome is Outcome.PASSED


def test_plan_decisions_and_selection(tmp_path: Path) -> None:
    from gatekit.plan.model import Decision

    p = plan(
        gate("cond", py("pass"), decision=Decision.SKIP, reason="no changed path matches web/**"),
        gate("review", decision=Decision.MANUAL, instructions="A maintainer reviews auth changes."),
        gate("base", py("pass")),
        gate("top", py("pass"), needs=["base"]),
        gate("other", py("pass")),
        gate("skipme", py("pass")),
    )
    res, _ = run(p, tmp_path, only=("top", "skipme", "cond"), skip=("skipme",))
    assert (res["cond"].outcome, res["cond"].reason) == (
        Outcome.SKIPPED,
        "no changed path matches web/**",
    )
    assert res["review"].outcome is Outcome.SKIPPED  # not selected
    assert res["base"].outcome is Outcome.PASSED  # needed by a selected gate
    assert res["top"].outcome is Outcome.PASSED
    assert (res["other"].outcome, res["other"].reason) == (Outcome.SKIPPED, "not selected (--gate)")
    assert (res["skipme"].outcome, res["skipme"].reason) == (Outcome.SKIPPED, "skipped by --skip")
    res2, _ = run(p, tmp_path / "2")
    assert (res2["review"].outcome, res2["review"].reason) == (
        Outcome.MANUAL_PENDING,
        "A maintainer reviews auth changes.",
    )
    with pytest.raises(UsageError, match="--gate othr: no such gate") as exc:
        run(p, tmp_path / "3", only=("othr",))
    assert exc.value.tip == "did you mean 'other'?"


def test_fail_fast_stops_scheduling(tmp_path: Path) -> None:
    p = plan(gate("a", py("raise SystemExit(2)")), gate("b", py("pass")), gate("c", py("pass")))
    res, _ = run(p, tmp_path, jobs=1, fail_fast=True)
    assert res["a"].outcome is Outcome.FAILED
    for gid in ("b", "c"):
        assert (res[gid].outcome, res[gid].reason) == (Outcome.SKIPPED, "not started: --fail-fast")


def _spans(log: Path) -> list[tuple[str, float, float]]:
    return [
        (x.split()[0], float(x.split()[1]), float(x.split()[2]))
        for x in log.read_text().splitlines()
    ]


def _timed(name: str, log: Path, seconds: float = 0.4) -> str:
    return py(
        f"import time; s=time.time(); time.sleep({seconds}); open({str(log)!r}, 'a').write(f'{name} {{s}} {{time.time()}}\\n')"
    )


def _overlap(a: tuple[str, float, float], b: tuple[str, float, float]) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def test_pool_limits_and_parallel_jobs(tmp_path: Path) -> None:
    log = tmp_path / "spans.txt"
    p = plan(
        gate("db1", _timed("db1", log), pool="db"),
        gate("db2", _timed("db2", log), pool="db"),
        gate("free1", _timed("free1", log)),
        gate("free2", _timed("free2", log)),
    )
    res, _ = run(p, tmp_path, jobs=4)
    assert all(r.outcome is Outcome.PASSED for r in res.values())
    spans = {s[0]: s for s in _spans(log)}
    assert not _overlap(spans["db1"], spans["db2"])
    assert _overlap(spans["free1"], spans["free2"])


@pytest.mark.parametrize("fail_fast", [False, True])
def test_a_gate_gives_its_job_slot_back_when_its_commands_end(
    tmp_path: Path, fail_fast: bool
) -> None:
    """With one job, the next gate's command starts while the first gate's results are
    still being collected; commands never overlap. Under --fail-fast the slot is kept
    to the end: the first result could still stop the run."""
    log = tmp_path / "spans.txt"
    collected: list[float] = []

    def collect(g, root):  # type: ignore[no-untyped-def]
        time.sleep(0.6)  # a slow report to read
        collected.append(time.time())
        return JUnitSummary(tests=1, failures=0, errors=0, skipped=0), []

    p = plan(
        gate("a", _timed("a", log, 0.1), junit=("reports/*.xml",)),
        gate("b", _timed("b", log, 0.1)),
    )
    res, _ = run(p, tmp_path, jobs=1, fail_fast=fail_fast, hooks=GateHooks(collect=collect))
    assert (res["a"].outcome, res["b"].outcome) == (Outcome.PASSED, Outcome.PASSED)
    spans = {s[0]: s for s in _spans(log)}
    assert not _overlap(spans["a"], spans["b"])
    b_started = spans["b"][1]
    assert (b_started < collected[0]) is not fail_fast


@pytest.mark.parametrize("fail_fast", [False, True])
def test_the_next_gate_gets_ready_while_a_slot_is_busy(tmp_path: Path, fail_fast: bool) -> None:
    """With one job, gate b makes its sandbox while gate a's command still runs (it waits
    for the slot with everything made); not under --fail-fast. Commands never overlap."""
    log = tmp_path / "spans.txt"
    seen = tmp_path / "seen.txt"
    look = py(
        "import os, time; time.sleep(0.5); "
        f"open({str(seen)!r}, 'w').write(str(os.path.isdir(os.path.join(os.environ['HOME'], '..', '..', 'b', 'home'))))"
    )
    p = plan(gate("a", look, _timed("a", log, 0.0)), gate("b", _timed("b", log, 0.1)))
    res, _ = run(p, tmp_path, jobs=1, fail_fast=fail_fast)
    assert (res["a"].outcome, res["b"].outcome) == (Outcome.PASSED, Outcome.PASSED)
    assert seen.read_text() == str(not fail_fast)
    spans = {s[0]: s for s in _spans(log)}
    assert spans["a"][2] <= spans["b"][1]
    # b's duration is its own: not the half second it waited for the slot
    assert res["b"].duration is not None and res["b"].duration < 0.45


class GitShadow(TmpShadow):
    def reset(self) -> None:
        from conftest import git

        super().reset()
        git(self.path, "reset", "-q", "--hard")
        git(self.path, "clean", "-qfdx")


class IndexWatchingShadow(GitShadow):
    """Records, at every reset, whether the shadow's index is as the last reset left it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.index_kept: list[bool] = []
        self._index = (path / ".git/index").read_bytes()

    def reset(self) -> None:
        self.index_kept.append((self.path / ".git/index").read_bytes() == self._index)
        super().reset()
        self._index = (self.path / ".git/index").read_bytes()


def _git_shadow(tmp_path: Path, files: dict[str, str]) -> IndexWatchingShadow:
    from conftest import Repo, git

    shadow_dir = tmp_path / "shadow"
    shadow_dir.mkdir()
    git(shadow_dir, "init", "-q", "-b", "main")
    repo = Repo(shadow_dir)
    for name, text in files.items():
        repo.write(name, text)
    repo.commit("c")
    return IndexWatchingShadow(shadow_dir)


def _writer(path: str, text: str, log: Path, name: str) -> str:
    return py(
        f"import time; s=time.time(); open({path!r},'w').write({text!r}); time.sleep(0.3);"
        f" open({str(log)!r}, 'a').write(f'{name} {{s}} {{time.time()}}\\n')"
    )


needs_overlay = pytest.mark.skipif(
    not __import__("gatekit.run.isolation", fromlist=["x"]).overlay_available(Path("/tmp")),
    reason="overlayfs in a mount namespace is not available here",
)


@needs_overlay
def test_fix_gate_fix_is_its_own_writes_while_another_gate_writes(tmp_path: Path) -> None:
    from conftest import git

    shadow = _git_shadow(tmp_path, {"a.py": "x=1\n", "b.py": "y=1\n"})
    log = tmp_path / "spans.txt"
    p = plan(
        gate("fmt", _writer("a.py", "x = 1\n", log, "fmt"), fix=True),
        gate("noop", py("pass"), fix=True),
        # writes an untracked output and reads a.py: it must see the candidate's a.py
        gate(
            "other",
            _writer("out.txt", "report", log, "other"),
            py("import sys; sys.exit(0 if open('a.py').read() == 'x=1\\n' else 9)"),
        ),
    )
    res, _ = run(p, tmp_path, shadow=shadow, jobs=4)
    fmt_res = res["fmt"]
    assert fmt_res.outcome is Outcome.FAILED
    assert fmt_res.reason == "made fixes: apply with gatekit check --apply-fixes"
    assert fmt_res.fix_tree is not None
    assert git(shadow.path, "cat-file", "-p", f"{fmt_res.fix_tree}:a.py") == "x = 1\n"
    assert git(shadow.path, "cat-file", "-p", f"{fmt_res.fix_tree}:b.py") == "y=1\n"
    names = git(shadow.path, "ls-tree", "--name-only", fmt_res.fix_tree).split()
    assert sorted(names) == ["a.py", "b.py"]  # the other gate's out.txt is not in the fix
    assert res["noop"].outcome is Outcome.PASSED and res["noop"].fix_tree is None
    assert res["other"].outcome is Outcome.PASSED, res["other"].reason
    # no gate wrote the shared shadow, and fix gates no longer run alone
    assert (shadow.path / "a.py").read_text() == "x=1\n"
    assert not (shadow.path / "out.txt").exists()
    assert shadow.resets == 0
    spans = {s[0]: s for s in _spans(log)}
    assert _overlap(spans["fmt"], spans["other"])


def test_exclusive_mode_runs_command_gates_alone_and_resets(tmp_path: Path) -> None:
    from conftest import git

    shadow = _git_shadow(tmp_path, {"a.py": "x=1\n", "b.py": "y=1\n"})
    log = tmp_path / "spans.txt"
    p = plan(
        gate("fmt", _writer("a.py", "x = 1\n", log, "fmt"), fix=True),
        gate("other1", _writer("o1.txt", "1", log, "other1")),
        gate("other2", _writer("o2.txt", "2", log, "other2")),
    )
    environ = {**os.environ, "GATEKIT_ISOLATION": "exclusive"}
    res, _ = run(p, tmp_path, shadow=shadow, jobs=4, environ=environ)
    fmt_res = res["fmt"]
    assert fmt_res.outcome is Outcome.FAILED and fmt_res.fix_tree is not None
    assert git(shadow.path, "cat-file", "-p", f"{fmt_res.fix_tree}:a.py") == "x = 1\n"
    assert sorted(git(shadow.path, "ls-tree", "--name-only", fmt_res.fix_tree).split()) == [
        "a.py",
        "b.py",
    ]
    assert res["other1"].outcome is Outcome.PASSED and res["other2"].outcome is Outcome.PASSED
    assert shadow.resets == 3  # after every gate that ran commands
    assert shadow.index_kept == [True, True, True]  # reading the writes never wrote it
    spans = {s[0]: s for s in _spans(log)}
    for x, y in (("fmt", "other1"), ("fmt", "other2"), ("other1", "other2")):
        assert not _overlap(spans[x], spans[y])


@pytest.mark.parametrize("mode", ["overlay", "exclusive"])
def test_non_fix_gate_changing_tracked_files_fails_naming_them(tmp_path: Path, mode: str) -> None:
    if mode == "overlay" and not __import__(
        "gatekit.run.isolation", fromlist=["x"]
    ).overlay_available(tmp_path):
        pytest.skip("overlayfs in a mount namespace is not available here")
    shadow = _git_shadow(tmp_path, {"a.py": "x=1\n", "keep.py": "k\n", "gone.py": "g\n"})
    code = (
        "import os; open('a.py','a').write('#\\n'); os.remove('gone.py');"
        " os.makedirs('build', exist_ok=True); open('build/out.o','w').write('o')"
    )
    p = plan(gate("lint", py(code)), gate("outputs", py("open('report.xml','w').write('r')")))
    environ = {**os.environ, "GATEKIT_ISOLATION": mode}
    res, _ = run(p, tmp_path, shadow=shadow, environ=environ)
    lint = res["lint"]
    assert lint.outcome is Outcome.FAILED
    assert lint.reason == (
        "changed tracked files of the candidate: a.py, gone.py"
        " (declare `fix: true` if this gate is a formatter)"
    )
    assert res["outputs"].outcome is Outcome.PASSED  # untracked outputs are fine
    assert (shadow.path / "a.py").read_text() == "x=1\n"  # the shadow holds the candidate again


def test_hooks_builtin_cache_and_collect(tmp_path: Path) -> None:
    def run_builtin(g, root):  # type: ignore[no-untyped-def]
        finding = Finding(rule="secret", path="a.txt", line=1, message="looks like a key")
        return g.builtin == "clean", [finding] if g.builtin != "clean" else [], "scanned 1 file"

    def lookup_cache(g):  # type: ignore[no-untyped-def]
        if g.id == "hit":
            return GateResult(id="hit", outcome=Outcome.CACHED, reason="cached", cached_from="abc")
        return None

    def collect(g, root):  # type: ignore[no-untyped-def]
        kpi = KpiResult(
            metric="coverage",
            op=">=",
            threshold=0.9,
            value=0.5,
            passed=False,
            reason="coverage 0.5 < 0.9",
        )
        return JUnitSummary(tests=3, failures=0, errors=0, skipped=0), [kpi]

    p = plan(
        gate("clean", builtin="clean"),
        gate("dirty", builtin="secrets"),
        gate("hit", py("raise SystemExit(1)"), cache=True),
        gate("kpi", py("pass"), junit=("reports/*.xml",)),
    )
    res, run_dir = run(
        p,
        tmp_path,
        hooks=GateHooks(run_builtin=run_builtin, lookup_cache=lookup_cache, collect=collect),
    )
    assert res["clean"].outcome is Outcome.PASSED
    assert res["dirty"].outcome is Outcome.FAILED and res["dirty"].findings[0].rule == "secret"
    assert "scanned 1 file" in (run_dir / "logs/dirty.log").read_text()
    assert res["hit"].outcome is Outcome.CACHED
    assert res["kpi"].outcome is Outcome.FAILED and res["kpi"].reason == "KPI: coverage 0.5 < 0.9"
    assert res["kpi"].junit is not None and res["kpi"].junit.tests == 3
    res2, _ = run(plan(gate("nohook", builtin="secrets")), tmp_path / "2")
    assert res2["nohook"].outcome is Outcome.ERROR


def test_command_not_found_is_an_error_with_a_runbook(tmp_path: Path) -> None:
    res, run_dir = run(plan(gate("missing", "no-such-tool-gatekit --x")), tmp_path)
    assert res["missing"].outcome is Outcome.ERROR
    assert "cannot start" in res["missing"].reason
    assert (run_dir / "reports/missing.md").exists()
