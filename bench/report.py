"""Report rendering over a long chain: ``gatekit report html`` and ``gatekit stats``
on a chain of 1,000 checkpoints (6 gates each, mixed outcomes).

    .venv/bin/python bench/report.py [--count 1000] [--repeat 5] [--quick]

The contract: the HTML report of a 1,000-checkpoint chain renders in under 2 s
(the whole command, start-up included). pre-commit keeps no record and has no
report to compare with; the baseline run in the same repository is
``git log --notes=gatekit`` over the same chain, which reads the same commits
and notes and renders nothing. Prints medians, the spread and the ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

GATES = ("lint", "types", "unit", "coverage", "docs", "e2e")


def build(path: Path, count: int) -> None:
    import pygit2
    from insight_support import G, record_chain, trees

    from gatekit.results import Outcome

    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    repo = pygit2.Repository(str(path))
    sig = pygit2.Signature("bench", "bench@example.invalid")
    repo.create_commit("HEAD", sig, sig, "root", repo.TreeBuilder().write(), [])
    rng = random.Random(14)
    tree_ids = trees(repo, count)
    runs = []
    for i in range(count):
        gates = {}
        for gid in GATES:
            roll = rng.random()
            outcome = (
                Outcome.FAILED if roll < 0.08 else Outcome.CACHED if roll < 0.3 else Outcome.PASSED
            )
            flaky = outcome is Outcome.PASSED and rng.random() < 0.03
            gates[gid] = G(outcome, round(rng.uniform(0.2, 30.0), 3), 2 if flaky else 1, flaky)
        runs.append((1.7e9 + i * 600.0, tree_ids[i], gates))
    record_chain(repo, "main", runs)


CPU: dict[str, list[float]] = {}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path, repeat: int, env: dict[str, str]) -> list[float]:
    """Wall times of ``repeat`` runs (after one warm-up); CPU times go to CPU."""
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env)  # warm-up
    out, cpu = [], CPU.setdefault(" ".join(cmd), [])
    for _ in range(repeat):
        c0, t0 = _children_cpu(), time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env)
        out.append(time.perf_counter() - t0)
        cpu.append(_children_cpu() - c0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smoke test: 200 checkpoints, 2 repeats")
    args = ap.parse_args()
    if args.quick:
        args.count, args.repeat = min(args.count, 200), min(args.repeat, 2)
    with tempfile.TemporaryDirectory() as d:
        repo = Path(d) / "repo"
        t0 = time.perf_counter()
        build(repo, args.count)
        print(f"built a chain of {args.count} checkpoints in {time.perf_counter() - t0:.1f} s")
        from _benchrepo import tool_env

        env = tool_env(Path(d))  # byte code cached, as an installed tool runs
        gk = [sys.executable, "-m", "gatekit"]
        out = Path(d) / "report.html"
        rows = [
            (
                "gatekit report html --chain main",
                timed(
                    [*gk, "report", "html", "--chain", "main", "-o", str(out)],
                    repo,
                    args.repeat,
                    env,
                ),
            ),
            (
                "gatekit stats --chain main --json",
                timed([*gk, "stats", "--chain", "main", "--json"], repo, args.repeat, env),
            ),
            ("gatekit metrics", timed([*gk, "metrics"], repo, args.repeat, env)),
            (
                "git log --notes=gatekit (baseline)",
                timed(
                    ["git", "log", "--notes=gatekit", "refs/gatekit/checkpoints/main"],
                    repo,
                    args.repeat,
                    env,
                ),
            ),
        ]
        base = statistics.median(rows[-1][1])
        cpus = list(CPU.values())
        print(f"{'command':<40} {'median':>8} {'min':>7} {'max':>7} {'x git log':>9} {'cpu':>7}")
        for (name, times), cpu in zip(rows, cpus, strict=True):
            med = statistics.median(times)
            print(
                f"{name:<40} {med:7.3f}s {min(times):6.3f}s {max(times):6.3f}s {med / base:8.1f}x"
                f" {statistics.median(cpu):6.3f}s"
            )
        size = out.stat().st_size
        report = statistics.median(rows[0][1])
        verdict = "met" if report < 2.0 else "NOT met"
        print(f"report: {size / 1024:.0f} KiB; under 2 s for {args.count} checkpoints: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
