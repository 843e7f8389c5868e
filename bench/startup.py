"""Start-up time: `gatekit --version` against `pre-commit --version`, same machine, same run.

    python bench/startup.py            # 20 timed runs of each after 3 warm-up runs
    python bench/startup.py --quick    # 5 runs of each
    python bench/startup.py --json     # also print the figures as one JSON line

Runs are interleaved (gatekit, pre-commit, gatekit, ...) so that load on a
shared machine hits both alike. Also timed: `gatekit plan --changed x` in a
fresh git repository with no configuration (the default policy), as new
processes (every run pays the interpreter and imports: "cold" for gatekit; the
OS file cache is warm after the first run, which is reported on its own).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which(name)


def _once(cmd: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
        )
    return elapsed


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs instead of 20")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 20)

    gatekit = _tool("gatekit")
    precommit = _tool("pre-commit")
    if gatekit is None:
        print("gatekit is not installed (pip install -e .)", file=sys.stderr)
        return 2
    commands = {
        "gatekit --version": [gatekit, "--version"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    if precommit is not None:
        commands["pre-commit --version"] = [precommit, "--version"]
    else:
        print("pre-commit not found: no comparison (pip install pre-commit)", file=sys.stderr)

    for cmd in commands.values():  # warm-up: page cache, .pyc files
        for _ in range(3):
            _once(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(_once(cmd))

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        env_free = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env_free)
        plan_cmd = [gatekit, "plan", "--changed", "x"]
        first_plan = _once(plan_cmd, cwd=repo)
        times["gatekit plan --changed x"] = [
            _once(plan_cmd, cwd=repo) for _ in range(max(5, runs // 2))
        ]

    medians = {name: statistics.median(values) for name, values in times.items()}
    width = max(len(n) for n in medians)
    print(
        f"start-up, median of {runs} runs (plan: {len(times['gatekit plan --changed x'])}), {os.cpu_count()} CPUs"
    )
    for name, value in medians.items():
        spread = f"min {_ms(min(times[name]))}, max {_ms(max(times[name]))}"
        print(f"  {name:<{width}}  {_ms(value):>9}   ({spread})")
    print(f"  {'gatekit plan, first run':<{width}}  {_ms(first_plan):>9}")
    result: dict[str, float | int | None] = {
        f"{k} ms": round(v * 1000, 1) for k, v in medians.items()
    }
    result["runs"] = runs
    result["gatekit plan first run ms"] = round(first_plan * 1000, 1)
    if "pre-commit --version" in medians:
        ratio = medians["gatekit --version"] / medians["pre-commit --version"]
        result["ratio gatekit/pre-commit"] = round(ratio, 3)
        print(f"  ratio gatekit / pre-commit --version: {ratio:.2f} (goal: well under 0.5)")
    if args.json:
        print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
