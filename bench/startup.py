"""Start-up time: `gatekit --version` against `pre-commit --version`, same machine, same run.

    python bench/startup.py            # 20 timed runs of each after 3 warm-up runs
    python bench/startup.py --quick    # 5 runs of each
    python bench/startup.py --json     # also print the figures as one JSON line
    python bench/startup.py --imports  # only the import profile of a check

Also printed: the import profile (``python -X importtime``) of an in-process
``gatekit check --staged`` of five ``true`` gates whose plan is cached, with a
staged change and an unstaged edit. A heavy module on that path (pydantic,
jsonschema, PyYAML) is a FAIL line and exit status 1: they belong where the
configuration changed, not on every check.

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


HEAVY = ("pydantic", "pydantic_core", "jsonschema", "yaml")
GATES = "version: 1\ngates:\n" + "".join(
    f'  - {{id: g{i}, session: {{run: ["true"]}}}}\n' for i in range(1, 6)
)


def _check_repo(repo: Path, env: dict[str, str]) -> list[str]:
    """A repository with five `true` gates, a staged change and an unstaged edit."""

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    git("init", "-q", ".")
    for i in range(200):
        (repo / f"f{i}.txt").write_text(f"{i}\n")
    (repo / "validation.yaml").write_text(GATES)
    git("add", "-A")
    git("-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-qm", "init")
    (repo / "f1.txt").write_text("staged\n")
    git("add", "f1.txt")
    (repo / "f2.txt").write_text("not staged\n")
    return [sys.executable, "-X", "importtime", "-m", "gatekit", "check", "--staged", "--no-cache"]


def import_profile(top: int = 15) -> int:
    """Print what an in-process check with a cached plan imports; 1 when a heavy module does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GATEKIT_NO_DAEMON"] = "1"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        env["HOME"] = tmp
        cmd = _check_repo(repo, env)
        for _ in range(2):  # compile and cache the plan; byte code
            subprocess.run(cmd[:1] + cmd[3:], cwd=repo, env=env, capture_output=True, check=False)
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
    rows: list[tuple[int, int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _, self_us, cumulative, name = line.split("|", 1)[0].split(":") + line.split("|")[1:]
        rows.append((int(cumulative), int(self_us), name.rstrip()))
    tops = [(c, n.strip()) for c, _, n in rows if not n.startswith("  ")]
    total = sum(c for c, _ in tops)
    print(
        f"imports of an in-process check, plan cached (exit {proc.returncode}): "
        f"{len(rows)} modules, {_ms(total / 1e6)} in all"
    )
    for cumulative, name in sorted(tops, reverse=True)[:top]:
        print(f"  {_ms(cumulative / 1e6):>9}  {name}")
    heavy = sorted({n.strip() for _, _, n in rows if n.strip().split(".")[0] in HEAVY})
    if heavy:
        print(f"FAIL: heavy modules on the hot path: {', '.join(heavy)}")
        return 1
    print("ok: no pydantic, jsonschema or PyYAML on the hot path")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs instead of 20")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--imports", action="store_true", help="only the import profile")
    args = parser.parse_args(argv)
    if args.imports:
        return import_profile()
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
    print()
    return import_profile()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
