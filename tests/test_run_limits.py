"""Resource limits on real processes: memory, CPU, disk and processes of a gate's whole
tree, and the cost every result records. These are the rlimit and watcher layers, with
cgroups turned off (tests/test_run_cgroup.py has the cgroup layer).

Allocations stay modest (limits of 100 MiB, a few hundred MiB allocated at most): the
machine these tests run on is shared.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from run_helpers import gate, plan, process_gone, py, run

from gatekit.plan.model import GateLimits
from gatekit.results import Outcome
from gatekit.run import cgroup, limits

M = 2**20


@pytest.fixture(autouse=True)
def _no_cgroups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroup, "_found", [None])
    monkeypatch.setenv("GATEKIT_CGROUPS", "0")


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


class Heartbeat:
    """A thread ticking every 20 ms: the largest gap between ticks says whether this
    machine stayed responsive while a gate ran away."""

    def __init__(self) -> None:
        self.gap = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def _tick(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(0.02):
            now = time.monotonic()
            self.gap = max(self.gap, now - last)
            last = now

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# After each 10 MiB: "resident-bytes time" into $TMPDIR/progress (it is killed mid-way)
LEAK = """
import os, time
chunks = []
with open(os.path.join(os.environ["TMPDIR"], "progress"), "w") as out:
    while len(chunks) < 40:  # at most 400 MiB
        chunks.append(bytearray(10 * 2**20))
        rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        out.write(f"{rss} {time.time()}\\n")
        out.flush()
        time.sleep(0.02)
print("allocated everything")
"""


def _crossed(progress: Path, limit: int) -> float:
    """When the leak crossed ``limit``: its first line over it, else (killed before it
    could write one) its last line, which is earlier than the crossing."""
    rows = [line.split() for line in progress.read_text().splitlines()]
    over = [float(t) for rss, t in rows if int(rss) > limit]
    return over[0] if over else float(rows[-1][1])


def test_memory_runaway_fails_with_limit_memory_within_2s(tmp_path: Path) -> None:
    g = gate("leak", py(LEAK), limits=GateLimits(memory=100 * M))
    with Heartbeat() as beat:
        res, run_dir = run(plan(g), tmp_path)
        ended = time.time()
    r = res["leak"]
    assert r.outcome is Outcome.FAILED
    assert r.code == "LIMIT_MEMORY"
    # the watcher stops it; on a machine so loaded that the watcher looks late, the
    # per-process cap (twice the limit) refuses the allocation first: LIMIT_MEMORY too
    assert r.reason.startswith("LIMIT_MEMORY: ") and (
        "over limits.memory (100.0 MiB)" in r.reason or "(limits.memory 100.0 MiB)" in r.reason
    )
    assert r.limits_enforced == limits.RLIMIT
    assert ended - _crossed(run_dir / "sandbox" / "leak" / "tmp" / "progress", 100 * M) < 2.0
    log = (run_dir / r.log).read_text() if r.log else ""
    assert "allocated everything" not in log.splitlines()
    assert "=== gatekit: the gate's processes then: python" in log  # which process it was
    assert r.cost is not None and r.cost.peak_memory is not None
    assert 90 * M < r.cost.peak_memory < 232 * M  # stopped soon after the crossing
    assert beat.gap < 1.0
    runbook = (run_dir / "reports" / "leak.md").read_text()
    assert "raise limits.memory or fix the leak" in runbook


def test_memory_over_the_per_process_cap_is_refused_and_named(tmp_path: Path) -> None:
    code = "x = bytearray(300 * 2**20)\nprint('got it')"
    g = gate("big", py(code), limits=GateLimits(memory=100 * M))
    res, _ = run(plan(g), tmp_path)
    r = res["big"]
    assert r.outcome is Outcome.FAILED
    assert r.code == "LIMIT_MEMORY"
    assert "an allocation over the per-process cap (200.0 MiB) was refused" in r.reason


def test_memory_of_the_whole_tree_counts(tmp_path: Path) -> None:
    """Three processes of 45 MiB each: none alone is over 100 MiB, together they are."""
    child = "import time\nx = bytearray(45 * 2**20)\ntime.sleep(20)"
    code = (
        "import subprocess, sys\n"
        f"ps = [subprocess.Popen([sys.executable, '-c', {child!r}]) for _ in range(3)]\n"
        "[p.wait() for p in ps]"
    )
    g = gate("tree", py(code), limits=GateLimits(memory=100 * M))
    t0 = time.monotonic()
    res, _ = run(plan(g), tmp_path)
    r = res["tree"]
    assert r.code == "LIMIT_MEMORY", r.reason
    assert r.outcome is Outcome.FAILED
    assert time.monotonic() - t0 < 15


def test_cpu_spinner_is_stopped_with_limit_cpu(tmp_path: Path) -> None:
    g = gate("spin", py("while True: pass"), timeout=60, limits=GateLimits(cpu=1.0))
    t0 = time.monotonic()
    res, _ = run(plan(g), tmp_path)
    r = res["spin"]
    assert r.outcome is Outcome.FAILED
    assert r.code == "LIMIT_CPU"
    assert "over limits.cpu (1.00s)" in r.reason
    assert time.monotonic() - t0 < 20
    assert r.cost is not None and r.cost.cpu_user is not None and r.cost.cpu_user >= 0.9


def test_cpu_of_two_spinners_counts_together(tmp_path: Path) -> None:
    """Each process alone stays under its per-process rlimit (3 s): the tree's sum stops them."""
    code = (
        "import subprocess, sys\n"
        "ps = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(2)]\n"
        "[p.wait() for p in ps]"
    )
    g = gate("spin2", py(code), timeout=60, limits=GateLimits(cpu=1.5))
    res, _ = run(plan(g), tmp_path)
    r = res["spin2"]
    assert r.code == "LIMIT_CPU", r.reason
    assert r.reason.startswith("LIMIT_CPU: the gate's CPU time reached ")
    assert r.cost is not None and r.cost.cpu_user is not None
    assert r.cost.cpu_user + (r.cost.cpu_system or 0) < 3.0


def test_disk_writer_fails_with_limit_disk(tmp_path: Path) -> None:
    """Many small files (none near the size rlimit): the watcher's count stops the gate."""
    code = (
        "import os, time\n"
        "for i in range(60):\n"
        "    with open(os.path.join(os.environ['TMPDIR' if i % 2 else 'HOME'], f'f{i}'), 'wb') as f:\n"
        "        f.write(b'x' * 2**20)\n"
        "    time.sleep(0.03)\n"
        "print('wrote everything')"
    )
    g = gate("fill", py(code), limits=GateLimits(disk=20 * M))
    res, run_dir = run(plan(g), tmp_path)
    r = res["fill"]
    assert r.outcome is Outcome.FAILED
    assert r.code == "LIMIT_DISK"
    assert "over limits.disk (20.0 MiB)" in r.reason
    tmp = run_dir / "sandbox" / "fill" / "tmp"
    assert list(tmp.iterdir()) == []  # TMPDIR and HOME emptied (the shadow: test_check_limits)
    assert list((run_dir / "sandbox" / "fill" / "home").iterdir()) == []


def test_one_file_over_the_disk_limit_is_refused(tmp_path: Path) -> None:
    code = "import os; open(os.environ['TMPDIR'] + '/big', 'wb').write(b'x' * (30 * 2**20))"
    g = gate("big", py(code), limits=GateLimits(disk=10 * M))
    res, _ = run(plan(g), tmp_path)
    r = res["big"]
    assert r.code == "LIMIT_DISK", r.reason
    assert "a file reached the size limit" in r.reason


FORK_LOOP = """
import os, subprocess, time
with open(os.path.join(os.environ["HOME"], "pids"), "w") as out:
    for _ in range(200):
        p = subprocess.Popen(["sleep", "60"])
        out.write(f"{p.pid}\\n"); out.flush()
        time.sleep(0.005)
time.sleep(60)
"""


def test_fork_loop_is_contained_and_every_process_gone(tmp_path: Path) -> None:
    g = gate("forks", py(FORK_LOOP), timeout=60, limits=GateLimits(processes=20))
    t0 = time.monotonic()
    res, run_dir = run(plan(g), tmp_path)
    r = res["forks"]
    assert r.outcome is Outcome.FAILED
    assert r.code == "LIMIT_PROCESSES"
    assert "over limits.processes (20)" in r.reason
    assert time.monotonic() - t0 < 30
    pids = [int(x) for x in (run_dir / "sandbox" / "forks" / "home" / "pids").read_text().split()]
    assert 15 <= len(pids) < 200
    assert all(process_gone(pid) for pid in pids)


def test_open_files_limit_is_applied(tmp_path: Path) -> None:
    code = "import resource; print('nofile', resource.getrlimit(resource.RLIMIT_NOFILE))"
    g = gate("fds", py(code), limits=GateLimits(open_files=77))
    res, run_dir = run(plan(g), tmp_path)
    r = res["fds"]
    assert r.outcome is Outcome.PASSED
    assert r.log is not None and "nofile (77, 77)" in (run_dir / r.log).read_text()


WORK = """
import time
x = bytearray(150 * 2**20)
n = 0
t = time.process_time()
while time.process_time() - t < 0.6:
    n += 1
time.sleep(0.3)
"""


@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="needs GNU time (Debian: time)")
def test_cost_agrees_with_gnu_time(tmp_path: Path) -> None:
    """The gate runs ``/usr/bin/time -v`` on the work: both measure the very same run."""
    g = gate("work", f"/usr/bin/time -v {py(WORK)}")
    res, run_dir = run(plan(g), tmp_path)
    r = res["work"]
    assert r.outcome is Outcome.PASSED and r.log is not None
    cost = r.cost
    assert cost is not None
    assert cost.cpu_user is not None and cost.cpu_system is not None
    assert cost.peak_memory is not None
    log = (run_dir / r.log).read_text()
    fields = dict(line.strip().rsplit(": ", 1) for line in log.splitlines() if ": " in line)
    cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
    rss = int(fields["Maximum resident set size (kbytes)"]) * 1024
    ours = cost.cpu_user + cost.cpu_system
    assert abs(ours - cpu) <= 0.2 * cpu, (ours, cpu)
    assert abs(cost.peak_memory - rss) <= 0.2 * rss, (cost.peak_memory, rss)
    assert cost.wall >= 0.9


def test_every_attempt_has_a_cost_and_the_gate_their_sum(tmp_path: Path) -> None:
    from run_helpers import retries

    code = (
        "import os, sys\nmark = os.path.join(os.environ['HOME'], 'again')\n"
        "sys.exit(0 if os.path.exists(mark) else (open(mark, 'w'), 1)[1])"
    )
    g = gate("flaky", py(code), retry=retries(flaky=1))
    res, _ = run(plan(g), tmp_path)
    r = res["flaky"]
    assert r.outcome is Outcome.PASSED and r.flaky
    costs = [a.cost for a in r.attempts]
    assert len(costs) == 2 and all(c is not None for c in costs)
    assert r.cost is not None
    assert r.cost.wall == pytest.approx(sum(c.wall for c in costs if c), abs=0.002)
    # the largest peak an attempt saw; none when no attempt's was seen (a short command
    # can end before the watcher's first sample)
    peaks = [c.peak_memory for c in costs if c and c.peak_memory is not None]
    assert r.cost.peak_memory == max(peaks, default=None)


def test_no_limits_no_wrapper(tmp_path: Path) -> None:
    g = gate("free", py("import resource; print(resource.getrlimit(resource.RLIMIT_DATA))"))
    res, _ = run(plan(g), tmp_path)
    assert res["free"].limits_enforced is None
    assert limits.rlimit_argv(limits.rlimits(GateLimits())) == []
    two_seconds = limits.rlimits(GateLimits(cpu=2.0))
    assert shutil.which("prlimit") is None or limits.rlimit_argv(two_seconds)[1:] == [
        "--cpu=3:5",
        "--",
    ]


LEAKY_NOXFILE = """
import nox

@nox.session(venv_backend="none")
def leak(session):
    session.run({py!r}, "-c", {code!r})
"""


def test_a_nox_gate_is_limited_down_to_its_sessions_commands(tmp_path: Path) -> None:
    """The leak is nox's child: the tree, not the first process, is what counts."""
    from run_helpers import TmpShadow

    shadow = TmpShadow(tmp_path / "shadow")
    shadow.path.mkdir()
    code = "import time\nx = []\nfor _ in range(30):\n    x.append(bytearray(10 * 2**20)); time.sleep(0.02)"
    (shadow.path / "noxfile.py").write_text(LEAKY_NOXFILE.format(py=sys.executable, code=code))
    g = gate("noxleak", nox="leak", limits=GateLimits(memory=100 * M))
    res, _ = run(plan(g), tmp_path, shadow=shadow)
    r = res["noxleak"]
    assert r.outcome is Outcome.FAILED
    assert r.code == "LIMIT_MEMORY", r.reason
    assert r.limits_enforced == limits.RLIMIT
