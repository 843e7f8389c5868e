"""Limits held by the kernel: a cgroup per gate command (v1 or v2), where gatekit may
create one (as root in many containers and CI machines; a delegated v2 subtree).

Real processes: a memory hog, a fork loop, a spinner under a share of cores, a daemon
that left the process group. Skipped, with the reason, where no cgroup can be made.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from check_support import gate as check_gate
from check_support import write_config
from conftest import Repo
from run_helpers import gate, plan, process_gone, py, run
from test_run_limits import FORK_LOOP, LEAK, WORK, Heartbeat, _crossed

from gatekit.plan.model import GateLimits
from gatekit.results import Outcome
from gatekit.run import cgroup, limits

M = 2**20
WHERE = cgroup.layout()
pytestmark = pytest.mark.skipif(
    WHERE is None, reason="no cgroup can be made here (not root, no delegated v2 subtree)"
)


def _left_behind() -> list[Path]:
    """Cgroups this process made that still exist."""
    assert WHERE is not None
    mine = f"g-{os.getpid()}-"
    return [
        parent / name
        for parent in WHERE.parents.values()
        for name in os.listdir(parent)
        if name.startswith(mine)
    ]


def test_memory_hog_is_stopped_by_the_kernel_within_2s(tmp_path: Path) -> None:
    g = gate("leak", py(LEAK), limits=GateLimits(memory=100 * M))
    with Heartbeat() as beat:
        res, run_dir = run(plan(g), tmp_path)
        ended = time.time()
    r = res["leak"]
    assert r.outcome is Outcome.FAILED and r.code == "LIMIT_MEMORY", r.reason
    assert r.limits_enforced == WHERE.kind if WHERE else False
    # the kernel's OOM killer acted inside the cgroup (or the watcher saw it first)
    assert r.reason.startswith("LIMIT_MEMORY: ") and "100.0 MiB" in r.reason
    assert ended - _crossed(run_dir / "sandbox" / "leak" / "tmp" / "progress", 90 * M) < 2.0
    assert beat.gap < 1.0, "the machine stopped responding"
    log = (run_dir / r.log).read_text() if r.log else ""
    assert "allocated everything" not in log.splitlines()
    assert _left_behind() == []
    book = json.loads((run_dir / "reports" / "leak.json").read_text())
    assert book["action"] == "raise the limit" and book["setting"] == "limits.memory"


def test_fork_loop_is_held_at_pids_max_and_every_process_gone(tmp_path: Path) -> None:
    g = gate("forks", py(FORK_LOOP), timeout=60, limits=GateLimits(processes=20))
    res, run_dir = run(plan(g), tmp_path)
    r = res["forks"]
    assert r.outcome is Outcome.FAILED and r.code == "LIMIT_PROCESSES", r.reason
    pids = [int(x) for x in (run_dir / "sandbox" / "forks" / "home" / "pids").read_text().split()]
    # the kernel refused forks past 20 live processes: far fewer than the 200 asked for
    assert 0 < len(pids) <= 20
    assert all(process_gone(pid) for pid in pids)
    assert _left_behind() == []


SPIN = "import time\nt = time.time()\nwhile time.time() - t < 3: pass\nprint('spun')"


def test_a_share_of_cores_bounds_a_spinner(tmp_path: Path) -> None:
    g = gate("spin", py(SPIN), limits=GateLimits(cores=0.5))
    res, _ = run(plan(g), tmp_path)
    r = res["spin"]
    assert r.outcome is Outcome.PASSED, r.reason
    assert r.cost is not None
    share = (r.cost.cpu_user + r.cost.cpu_system) / r.cost.wall
    # a quota of 50 ms per 100 ms period: about half a core, never a whole one
    assert 0.2 < share < 0.65, f"used {share:.2f} cores under a limit of 0.5"


DAEMON = """
import os, subprocess, sys
# a daemon: its own session, an empty environment (no token of the run), parent exits
p = subprocess.Popen(["sleep", "60"], start_new_session=True, env={})
open(os.path.join(os.environ["HOME"], "daemon.pid"), "w").write(str(p.pid))
"""


def test_a_daemon_that_left_the_group_dies_with_the_cgroup(tmp_path: Path) -> None:
    g = gate("bg", py(DAEMON), limits=GateLimits(memory=200 * M))
    res, run_dir = run(plan(g), tmp_path)
    assert res["bg"].outcome is Outcome.PASSED, res["bg"].reason
    pid = int((run_dir / "sandbox" / "bg" / "home" / "daemon.pid").read_text())
    assert process_gone(pid), "the daemonised child outlived its gate"
    assert _left_behind() == []


BUSY_DAEMON = """
import os, time
# a daemon by double fork: its own session, its parent gone, so it is no descendant of
# the command and no member of its group; it holds 120 MiB and spins ~0.8 s of CPU
# while the command sleeps, and is killed with the cgroup
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        x = bytearray(120 * 2**20)
        for i in range(0, len(x), 4096):
            x[i] = 1
        open(os.path.join(os.environ["HOME"], "daemon.pid"), "w").write(str(os.getpid()))
        t = time.process_time()
        while time.process_time() - t < 0.8:
            pass
        time.sleep(60)
    os._exit(0)
os.wait()
time.sleep(1.6)
"""


def test_the_cost_counts_a_daemon_that_left_the_group(tmp_path: Path) -> None:
    """rusage and the /proc watcher miss a daemon that left the process group; the
    cgroup's counters (cpuacct / cpu.stat, memory peak) have it."""
    g = gate("bg", py(BUSY_DAEMON), limits=GateLimits(memory=400 * M))
    res, run_dir = run(plan(g), tmp_path)
    r = res["bg"]
    assert r.outcome is Outcome.PASSED and r.limits_enforced == WHERE.kind if WHERE else False
    assert r.cost is not None and r.cost.peak_memory is not None
    assert r.cost.cpu_user + r.cost.cpu_system >= 0.7, r.cost
    assert r.cost.peak_memory >= 120 * M, r.cost
    pid = int((run_dir / "sandbox" / "bg" / "home" / "daemon.pid").read_text())
    assert process_gone(pid)
    assert _left_behind() == []


@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="needs GNU time (Debian: time)")
def test_the_cost_from_the_cgroup_agrees_with_gnu_time(tmp_path: Path) -> None:
    g = gate("work", f"/usr/bin/time -v {py(WORK)}", limits=GateLimits(memory=400 * M))
    res, run_dir = run(plan(g), tmp_path)
    r = res["work"]
    assert r.outcome is Outcome.PASSED and r.log is not None and r.cost is not None
    assert r.limits_enforced == WHERE.kind if WHERE else False
    assert r.cost.peak_memory is not None
    log = (run_dir / r.log).read_text()
    fields = dict(line.strip().rsplit(": ", 1) for line in log.splitlines() if ": " in line)
    cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
    rss = int(fields["Maximum resident set size (kbytes)"]) * 1024
    assert abs(r.cost.cpu_user + r.cost.cpu_system - cpu) <= 0.2 * cpu, (r.cost, cpu)
    assert abs(r.cost.peak_memory - rss) <= 0.2 * rss, (r.cost.peak_memory, rss)


def test_the_plan_and_the_result_say_a_cgroup_applied(repo: Repo) -> None:
    assert WHERE is not None
    write_config(
        repo,
        [
            {
                "id": "unit",
                "session": {"run": ["python3 -c pass"]},
                "limits": {"memory": "300M", "cpu": "1.5 cores", "processes": 64},
            }
        ],
    )
    repo.commit("config")
    out = repo.gatekit("plan", "--all")
    assert out.returncode == 0, out.stderr
    assert f"cpu 1.5 cores, disk 20.0 GiB, processes 64 (enforced by {WHERE.kind})" in out.stdout
    env = {"GATEKIT_CGROUPS": "0"}
    off = repo.gatekit("plan", "--all", env=env)
    # without a cgroup: CPU affinity, where 2 of the CPUs gatekit may use narrow anything
    narrows = len(os.sched_getaffinity(0)) > 2 and shutil.which("taskset") is not None
    cores = "cores as CPU affinity, whole cores only" if narrows else "cores not enforced here"
    assert f"(enforced by rlimit; {cores})" in off.stdout, off.stdout


def test_without_a_cgroup_cores_become_cpu_affinity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: affinity cannot narrow anything")
    monkeypatch.setattr(cgroup, "_found", [None])
    code = "import os\nprint('cpus', len(os.sched_getaffinity(0)))"
    g = gate("aff", py(code), limits=GateLimits(cores=0.5))
    res, run_dir = run(plan(g), tmp_path)
    r = res["aff"]
    assert r.outcome is Outcome.PASSED and r.limits_enforced == limits.RLIMIT
    assert "cpus 1" in (run_dir / str(r.log)).read_text()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("half a core", "cannot read 'half a core' as a share of cores"),
        ("0 cores", "a share of cores must be from 0.01 to 4096"),
    ],
)
def test_a_bad_share_of_cores_names_its_place(repo: Repo, value: str, message: str) -> None:
    write_config(repo, [{"id": "u", "session": {"run": ["true"]}, "limits": {"cpu": value}}])
    proc = repo.gatekit("check", "--plain")
    assert proc.returncode == 2, proc.stderr
    assert "validation.yaml:" in proc.stderr and "gates[0].limits.cpu" in proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


@contextlib.contextmanager
def _sleeper(env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A ``sleep 60`` for a sweep to find, never left behind."""
    proc = subprocess.Popen(["sleep", "60"], env=env)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _held_by(name: str, pid: int) -> list[Path]:
    """A cgroup ``name`` in every hierarchy, holding process ``pid``."""
    assert WHERE is not None
    held = [parent / name for parent in WHERE.parents.values()]
    for d in held:
        d.mkdir()
        (d / "cgroup.procs").write_text(str(pid))
    return held


def test_a_dead_gatekits_cgroups_are_swept(tmp_path: Path) -> None:
    assert WHERE is not None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [parent / f"g-{dead.pid}-0" for parent in WHERE.parents.values()]
    for d in stale:
        d.mkdir()
    cgroup._sweep(WHERE.parents)
    assert not any(d.exists() for d in stale)
    # a process left in a dead gatekit's cgroup (its gate's daemon) is killed, then removed
    with _sleeper() as orphan:
        held = _held_by(f"g-{dead.pid}-1", orphan.pid)
        cgroup._sweep(WHERE.parents)
        assert orphan.wait(timeout=5) == -9
        assert not any(d.exists() for d in held)
    # a gate of a run its repository has not recovered yet is left to that recovery
    # (which snapshots it first), whichever gatekit sweeps; once recovered, it is swept
    run_dir = tmp_path / "runs" / "20261203T000000Z-1-abcdef"
    gate_tmp = run_dir / "sandbox" / "hang" / "tmp"
    gate_tmp.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"state": "running"}))
    env = dict(os.environ, GATEKIT_RUN=f"{run_dir.name}/hang", TMPDIR=str(gate_tmp))
    with _sleeper(env) as orphan:
        held = _held_by(f"g-{dead.pid}-2", orphan.pid)
        cgroup._sweep(WHERE.parents)
        assert orphan.poll() is None, "a gate awaiting its run's recovery was killed"
        assert all(d.exists() for d in held)
        (run_dir / "run.json").write_text(json.dumps({"state": "crashed"}))
        cgroup._sweep(WHERE.parents)
        assert orphan.wait(timeout=5) == -9
        assert not any(d.exists() for d in held)
    live = [parent / f"g-{os.getpid()}-999999" for parent in WHERE.parents.values()]
    for d in live:
        d.mkdir()
    try:
        cgroup._sweep(WHERE.parents)
        assert all(d.exists() for d in live), "a live gatekit's cgroup was swept"
    finally:
        for d in live:
            d.rmdir()


@pytest.mark.skipif(
    not Path("/sys/fs/cgroup/unified/cgroup.controllers").exists()
    or "memory" in Path("/sys/fs/cgroup/unified/cgroup.controllers").read_text(),
    reason="needs a cgroup2 mount without the memory controller (as on this kind of machine)",
)
def test_an_unusable_cgroup2_leaves_no_directory() -> None:
    probe = Path(f"/sys/fs/cgroup/unified/gatekit-test-{os.getpid()}")
    assert not cgroup._v2_ready(probe)
    assert not probe.exists()


HOG = "x = []\nwhile True: x.append(bytearray(10 * 2**20))"


def test_explain_tells_to_raise_the_limit_after_a_cgroup_breach(repo: Repo) -> None:
    """``gatekit explain`` after a memory breach held by the cgroup: raise limits.memory
    or fix the leak, never 'fix the code'."""
    write_config(repo, [check_gate("hog", HOG, limits={"memory": "80M"})])
    repo.commit("config")
    proc = repo.gatekit("check", "--rev", "HEAD", "--no-cache", "--plain")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    shown = repo.gatekit("explain", "--json", "hog")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    g = next(x for x in doc["gates"] if x["gate"] == "hog")
    assert g["code"] == "LIMIT_MEMORY" and g["action"] == "raise the limit", g
    assert g["setting"] == "limits.memory"
    assert "raise limits.memory or fix the leak" in g["next_action"]
    assert "80.0 MiB" in g["reason"]
    assert _left_behind() == []


STUCK_DAEMON = """
import os, subprocess, time
p = subprocess.Popen(["sleep", "60"], start_new_session=True, env={})
open(os.path.join(os.environ["HOME"], "daemon.pid"), "w").write(str(p.pid))
time.sleep(60)
"""


def test_a_timed_out_gates_daemon_dies_with_the_cgroup(tmp_path: Path) -> None:
    g = gate("stuck", py(STUCK_DAEMON), timeout=1.5, limits=GateLimits(processes=50))
    res, run_dir = run(plan(g), tmp_path)
    assert res["stuck"].outcome is Outcome.TIMED_OUT, res["stuck"].reason
    pid = int((run_dir / "sandbox" / "stuck" / "home" / "daemon.pid").read_text())
    assert process_gone(pid), "the daemon of a timed-out gate outlived it"
    assert _left_behind() == []


def test_a_cgroup_that_cannot_be_made_falls_back_to_rlimits_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hierarchy went away under a running gatekit: the gate still runs, under the
    rlimits and the watcher, and its result names that, not the cgroup."""
    gone = cgroup.Layout(cgroup.V1, {"memory": tmp_path / "no-memory", "pids": tmp_path / "no"})
    monkeypatch.setattr(cgroup, "_found", [gone])
    g = gate("ok", py("print('ran')"), limits=GateLimits(memory=200 * M))
    res, _ = run(plan(g), tmp_path)
    r = res["ok"]
    assert r.outcome is Outcome.PASSED, r.reason
    assert r.limits_enforced == limits.without_cgroup() == limits.RLIMIT


def _entry_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "gatekit-cgroup-entries"]


@pytest.mark.skipif(WHERE is None or WHERE.kind != cgroup.V1, reason="cgroup v1 only")
def test_entries_are_kept_fast_only_inside_the_block_and_gatekit_stays_where_it_was() -> None:
    before = Path("/proc/self/cgroup").read_text()
    with cgroup.entries_kept_fast(False):
        assert _entry_threads() == []
    with cgroup.entries_kept_fast(True):
        assert _entry_threads() == ["gatekit-cgroup-entries"]
        time.sleep(0.05)  # some no-op moves of gatekit into its own cgroups
        assert Path("/proc/self/cgroup").read_text() == before
        # a command started meanwhile still enters its own cgroup
        group = cgroup.GateCgroup(WHERE, 64 * M, 64, None)
        try:
            out = subprocess.run(
                [*group.enter_argv(), "cat", "/proc/self/cgroup"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        finally:
            group.remove()
        assert all(f"/gatekit/{d.name}" in out for d in group.dirs.values()), out
    # the block does not wait for the thread; it ends at its next wake-up
    deadline = time.monotonic() + 2.0
    while _entry_threads() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert _entry_threads() == []
    assert Path("/proc/self/cgroup").read_text() == before
