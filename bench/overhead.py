"""Runner overhead and parallel efficiency (the runner part of ``nox -s bench``).

    python bench/overhead.py --runner-only

- overhead: N trivial gates (``true``) through ``execute_plan`` against the same
  commands run directly one after the other (median of several runs, in-process:
  no interpreter start-up or import cost on either side).
- parallel efficiency: eight gates each sleeping 1 s with ``jobs=2``; ideal 4 s,
  target under 4.4 s.

The full bench (generated 2k/20k-file repositories, ``gatekit check`` against
pre-commit) is wired by the lead on top of these functions.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gatekit.config.models import Event, GateType, SessionSpec
from gatekit.plan.model import Decision, GatePlan, PlanContext, PlannedGate, RetryPolicy
from gatekit.run.execute import GateHooks, RunOptions, execute_plan
from gatekit.run.output import PlainReporter


class _Shadow:
    def __init__(self, path: Path) -> None:
        self.path = path

    def reset(self) -> None:
        return None


def trivial_plan(commands: list[str]) -> GatePlan:
    """One gate per command, no deps (no environment), no needs."""
    gates = tuple(
        PlannedGate(
            id=f"g{i}",
            type=GateType.AUTO,
            decision=Decision.RUN,
            reason="always",
            required=True,
            needs=(),
            paths=None,
            runner="session",
            session=SessionSpec(run=[cmd]),
            timeout=60.0,
            retries=RetryPolicy(transient=0, flaky=0, exit_codes=(), patterns=(), backoff=5),
            network=True,
            fix=False,
            cache=False,
        )
        for i, cmd in enumerate(commands)
    )
    return GatePlan.seal(
        policies=(),
        context=PlanContext(event=Event.MANUAL),
        order=tuple(g.id for g in gates),
        gates=gates,
    )


def run_plan(plan: GatePlan, root: Path, jobs: int | None) -> float:
    """Wall time of one execute_plan call in a fresh run dir."""
    shadow = root / "shadow"
    shadow.mkdir(exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(dir=root, prefix="run-"))
    opts = RunOptions(jobs=jobs, env_cache_dir=root / "envs")
    t0 = time.perf_counter()
    results = execute_plan(
        plan, _Shadow(shadow), run_dir, opts, PlainReporter(io.StringIO()), GateHooks()
    )
    took = time.perf_counter() - t0
    bad = [r.id for r in results if r.outcome.value != "passed"]
    if bad:
        raise SystemExit(f"bench gates did not pass: {bad}")
    return took


def run_direct(commands: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    for cmd in commands:
        subprocess.run(cmd.split(), cwd=cwd, check=True)
    return time.perf_counter() - t0


def overhead(n: int = 5, repeats: int = 7, jobs: int | None = None) -> dict[str, float]:
    """Median wall time of N trivial gates via execute_plan vs the commands run directly."""
    commands = ["true"] * n
    plan = trivial_plan(commands)
    with tempfile.TemporaryDirectory(prefix="gatekit-bench-") as tmp:
        root = Path(tmp)
        run_plan(plan, root, jobs)  # warm-up (imports, unshare probe, caches)
        gk = [run_plan(plan, root, jobs) for _ in range(repeats)]
        direct = [run_direct(commands, root) for _ in range(repeats)]
    g, d = statistics.median(gk), statistics.median(direct)
    return {
        "gates": n,
        "gatekit_s": g,
        "direct_s": d,
        "ratio": g / d if d else float("inf"),
        "extra_ms": (g - d) * 1000,
    }


def parallel_efficiency(gates: int = 8, seconds: float = 1.0, jobs: int = 2) -> dict[str, float]:
    """Wall time of ``gates`` gates sleeping ``seconds`` each with ``jobs`` workers."""
    plan = trivial_plan([f"sleep {seconds:g}"] * gates)
    with tempfile.TemporaryDirectory(prefix="gatekit-bench-") as tmp:
        wall = run_plan(plan, Path(tmp), jobs)
    ideal = gates * seconds / jobs
    return {
        "gates": gates,
        "jobs": jobs,
        "wall_s": wall,
        "ideal_s": ideal,
        "efficiency": ideal / wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runner-only", action="store_true", help="only the runner measurements")
    parser.add_argument("--gates", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if not args.runner_only:
        print(
            "bench: the repository/pre-commit comparison is not wired yet; running --runner-only",
            file=sys.stderr,
        )
    o = overhead(args.gates, args.repeats)
    print(
        f"overhead: {o['gates']} trivial gates: gatekit {o['gatekit_s'] * 1000:.1f} ms, "
        f"direct {o['direct_s'] * 1000:.1f} ms (median of {args.repeats}), "
        f"ratio {o['ratio']:.2f}x, extra {o['extra_ms']:.1f} ms"
    )
    p = parallel_efficiency()
    print(
        f"parallel: {p['gates']:.0f} gates x 1 s, jobs {p['jobs']:.0f}: wall {p['wall_s']:.2f} s "
        f"(ideal {p['ideal_s']:.1f} s, efficiency {p['efficiency']:.0%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
