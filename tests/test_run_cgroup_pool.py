"""cgroup v1: an ended command's cgroup is kept idle and the next command takes it.

A removed memory cgroup that still has page cache charged to it stays in the kernel
("dying"), and hundreds of them slow every later run on the machine; so on v1 gatekit
renames an ended command's cgroup ``idle-<pid>-<n>`` and the next command renames one
back. These tests use hierarchies of their own (a ``pool-test-<pid>`` cgroup below
gatekit's ``gatekit`` directory in each), so that other gatekits on the machine neither
take their idle cgroups nor leave theirs. Real processes: a memory hog the kernel's OOM
killer stops, a fork loop held at ``pids.max``, a spinner.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from gatekit.run import cgroup

M = 2**20
WHERE = cgroup.layout()
pytestmark = pytest.mark.skipif(
    WHERE is None or WHERE.kind != cgroup.V1,
    reason="cgroup v1 only (v2 cannot rename a cgroup: each command's is made and removed)",
)

HOG = "x = []\nwhile True: x.append(bytearray(4 * 2**20))"
FORKS = (
    "import subprocess\n"
    "ps = []\n"
    "for _ in range(30):\n"
    "    try: ps.append(subprocess.Popen(['sleep', '5']))\n"
    "    except OSError: break\n"
    "for p in ps: p.kill()\n"
)
SPIN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"


@pytest.fixture
def pool() -> Iterator[cgroup.Layout]:
    """Hierarchies of this test's own, emptied and removed at the end."""
    assert WHERE is not None
    parents = {c: p / f"pool-test-{os.getpid()}" for c, p in WHERE.parents.items()}
    for d in parents.values():
        d.mkdir()
    try:
        yield cgroup.Layout(cgroup.V1, parents)
    finally:
        for d in parents.values():
            for child in d.iterdir():
                if child.is_dir():
                    cgroup._kill_in(child)
                    cgroup._rmdir(child)
            cgroup._rmdir(d)


def _inodes(where: cgroup.Layout, prefix: str) -> dict[str, set[int]]:
    return {
        c: {e.inode() for e in os.scandir(p) if e.is_dir() and e.name.startswith(prefix)}
        for c, p in where.parents.items()
    }


def _run_in(group: cgroup.GateCgroup, code: str) -> subprocess.CompletedProcess[str]:
    argv = [*group.enter_argv(), sys.executable, "-c", code]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def _ended(group: cgroup.GateCgroup) -> cgroup.Reading:
    group.kill_all()
    reading = group.read()
    group.remove()
    return reading


def test_an_ended_commands_cgroup_is_taken_again_with_its_new_limits_and_zero_counts(
    pool: cgroup.Layout,
) -> None:
    first = cgroup.GateCgroup(pool, 48 * M, 12, 0.5)
    assert _run_in(first, HOG).returncode == -9  # the kernel's OOM killer
    assert _run_in(first, FORKS).returncode == 0
    assert _run_in(first, SPIN).returncode == 0
    met = _ended(first)
    assert met.oom_kills >= 1 and met.pids_refused >= 1, met
    assert met.cpu_user + met.cpu_system >= 0.3, met
    assert met.memory_peak is not None and met.memory_peak >= 40 * M, met
    # kept idle, under its new name, in every hierarchy (cpu too: it had a share of cores)
    assert not any(d.exists() for d in first.dirs.values())
    idle = _inodes(pool, cgroup.IDLE + "-")
    assert all(len(v) == 1 for v in idle.values()), idle

    # the next command, without limits: the same cgroups, limits lifted, counts from zero
    second = cgroup.GateCgroup(pool, None, None, None)
    taken = {c: d.stat().st_ino for c, d in second.dirs.items()}
    assert {c: {i} for c, i in taken.items()} == {c: idle[c] for c in second.dirs}
    assert "cpu" not in second.dirs  # no share of cores asked: the cpu one stays idle
    memory = second.dirs["memory"]
    assert int((memory / "memory.limit_in_bytes").read_text()) > 2**60
    memsw = memory / "memory.memsw.limit_in_bytes"
    assert not memsw.exists() or int(memsw.read_text()) > 2**60
    assert (second.dirs["pids"] / "pids.max").read_text().strip() == "max"
    assert _run_in(second, "print('ran')").stdout == "ran\n"
    now = _ended(second)
    assert (now.oom_kills, now.pids_refused) == (0, 0), now
    assert now.cpu_user + now.cpu_system < 0.3, now
    assert now.memory_peak is not None and now.memory_peak < 40 * M, now

    # a lower limit than before, and a higher one: memsw follows the memory limit
    for limit in (32 * M, 256 * M):
        group = cgroup.GateCgroup(pool, limit, 64, None)
        assert group.dirs["memory"].stat().st_ino == taken["memory"]
        assert int((group.dirs["memory"] / "memory.limit_in_bytes").read_text()) == limit
        group_memsw = group.dirs["memory"] / "memory.memsw.limit_in_bytes"
        assert not group_memsw.exists() or int(group_memsw.read_text()) == limit
        assert (group.dirs["pids"] / "pids.max").read_text().strip() == "64"
        _ended(group)


def test_at_most_keep_idle_cgroups_are_kept_per_hierarchy(pool: cgroup.Layout) -> None:
    groups = [cgroup.GateCgroup(pool, 64 * M, None, None) for _ in range(cgroup.KEEP_IDLE + 3)]
    for group in groups:
        _ended(group)
    counts = {c: len(v) for c, v in _inodes(pool, "").items()}
    # cpu: none was asked for (no share of cores)
    assert counts == {c: 0 if c == "cpu" else cgroup.KEEP_IDLE for c in pool.parents}


def test_racing_takers_never_share_a_cgroup(pool: cgroup.Layout) -> None:
    for group in [cgroup.GateCgroup(pool, 64 * M, None, None) for _ in range(4)]:
        _ended(group)
    idle = _inodes(pool, cgroup.IDLE + "-")["memory"]
    taken: list[cgroup.GateCgroup] = []
    start = threading.Barrier(8)

    def take() -> None:
        start.wait()
        taken.append(cgroup.GateCgroup(pool, 64 * M, None, None))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    inodes = [g.dirs["memory"].stat().st_ino for g in taken]
    assert len(set(inodes)) == 8, "two commands were given one cgroup"
    assert idle <= set(inodes), "an idle cgroup was left while new ones were made"
    for group in taken:
        _ended(group)


def test_a_cgroup_a_process_is_still_in_is_neither_kept_nor_taken(pool: cgroup.Layout) -> None:
    group = cgroup.GateCgroup(pool, 64 * M, None, None)
    sleeper = subprocess.Popen([*group.enter_argv(), "sleep", "60"])
    try:
        for _ in range(200):
            if group.pids():
                break
            threading.Event().wait(0.01)
        assert group.pids()
        group.remove()  # the command's processes were not killed: it cannot be kept
        assert all(d.exists() for d in group.dirs.values())
        assert _inodes(pool, cgroup.IDLE + "-") == {c: set() for c in pool.parents}
    finally:
        sleeper.kill()
        sleeper.wait()
    _ended(group)
    assert all(len(v) == 1 for c, v in _inodes(pool, cgroup.IDLE + "-").items() if c != "cpu")
