"""The operator commands: `gatekit status` with 200 runs in the run directory (one of
them running), and the time from a gate's failure to its runbook on disk.

    python bench/runstatus.py            # 20 timed runs of each command
    python bench/runstatus.py --quick    # 5 runs

`gatekit status` is compared, in the same run and interleaved, with `git status
--porcelain` in the same repository and with `pre-commit --version` (pre-commit
has no status command: its start-up is the least any pre-commit command costs).
The runbook latency is measured from the moment the failing gate's process
writes its last timestamp (just before it exits) to the modification time of
`reports/<gate>.json` (written after the `.md` runbook and the forensics snapshot).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchrepo import commit_all, generate, med, ms, run, table, timed, tool, tool_env

RUNS = 200


def _config(path: Path, stamp: Path) -> None:
    py = sys.executable
    fail = f"import time; open({str(stamp)!r}, 'w').write(repr(time.time())); raise SystemExit(1)"
    doc = {
        "version": 1,
        "gates": [
            {"id": "ok", "cache": False, "session": {"run": [f"{py} -c pass"]}},
            {"id": "fail", "cache": False, "session": {"run": [f"{py} -c {json.dumps(fail)}"]}},
            {"id": "review", "type": "manual", "instructions": "read it"},
        ],
    }
    (path / "validation.yaml").write_text(json.dumps(doc, indent=2) + "\n")


def _runbook_latency(repo: Path, env: dict[str, str], stamp: Path, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        run([*tool("gatekit"), "check", "--plain", "--no-record"], repo, env, ok=(1,))
        runs_dir = repo / ".git" / "gatekit" / "runs"
        newest = sorted(d for d in os.listdir(runs_dir) if not d.startswith("."))[-1]
        book = runs_dir / newest / "reports" / "fail.json"
        out.append(book.stat().st_mtime - float(stamp.read_text()))
    return out


def _fill(repo: Path, count: int) -> None:
    """``count`` run directories: copies of the real ones with ids in time order."""
    runs_dir = repo / ".git" / "gatekit" / "runs"
    real = sorted(d for d in os.listdir(runs_dir) if (runs_dir / d / "run.json").is_file())
    model = runs_dir / real[0]
    existing = len(real)
    for i in range(count - existing):
        rid = f"20260101T{i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}Z-{1000 + i}-bench{i:04d}"
        shutil.copytree(model, runs_dir / rid)
        doc = json.loads((runs_dir / rid / "run.json").read_text())
        doc["run_id"] = rid
        (runs_dir / rid / "run.json").write_text(json.dumps(doc))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs instead of 20")
    args = parser.parse_args(argv)
    runs = 5 if args.quick else 20
    with tempfile.TemporaryDirectory(prefix="gatekit-bench-operator-") as tmp_name:
        tmp = Path(tmp_name)
        env = tool_env(tmp)
        repo = tmp / "repo"
        generate(repo, 2000, env)
        stamp = tmp / "exit-time"
        _config(repo, stamp)
        commit_all(repo, env)
        latency = _runbook_latency(repo, env, stamp, max(3, runs // 2))
        _fill(repo, RUNS)
        # one run in progress while status is timed
        sleeper = tmp / "sleep.yaml"
        sleeper.write_text(
            json.dumps(
                {
                    "version": 1,
                    "gates": [
                        {
                            "id": "slow",
                            "cache": False,
                            "session": {
                                "run": [f"{sys.executable} -c 'import time; time.sleep(600)'"]
                            },
                        }
                    ],
                }
            )
        )
        bg = subprocess.Popen(
            [*tool("gatekit"), "check", "--plain", "--no-record", "--config", str(sleeper)],
            cwd=repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            active = repo / ".git" / "gatekit" / "active"
            deadline = time.monotonic() + 60
            while not (active.is_dir() and os.listdir(active)):
                if time.monotonic() > deadline:
                    raise SystemExit("bench: the background check did not start")
                time.sleep(0.05)
            time.sleep(1.0)
            commands = {
                "gatekit status": [*tool("gatekit"), "status"],
                "gatekit status --all": [*tool("gatekit"), "status", "--all"],
                "gatekit status --json": [*tool("gatekit"), "status", "--json"],
                "git status --porcelain": ["git", "status", "--porcelain"],
            }
            if shutil.which("pre-commit") or (Path(sys.executable).parent / "pre-commit").exists():
                commands["pre-commit --version"] = [*tool("pre-commit"), "--version"]
            for cmd in commands.values():
                for _ in range(2):
                    run(cmd, repo, env)
            times: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(runs):
                for name, cmd in commands.items():
                    times[name].append(timed(lambda cmd=cmd: run(cmd, repo, env)))
        finally:
            bg.terminate()
            bg.wait(timeout=60)
        n_runs = sum(
            1 for d in (repo / ".git" / "gatekit" / "runs").iterdir() if (d / "run.json").is_file()
        )
        base = med(times["gatekit status"])
        rows = [
            [name, ms(med(t)), ms(min(t)), ms(max(t)), f"{base / med(t):.2f}x"]
            for name, t in times.items()
        ]
        print(
            f"operator commands, {n_runs} runs in the run directory, one running ({runs} runs each)"
        )
        print(table(["command", "median", "min", "max", "gatekit status / this"], rows))
        print()
        print(
            f"failure -> runbook (reports/fail.json) on disk, {len(latency)} checks: "
            f"median {ms(med(latency))}, max {ms(max(latency))}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
