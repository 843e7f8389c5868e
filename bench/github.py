"""gatekit on GitHub, measured (``nox -s bench``):

    python bench/github.py            # 2,000 files, 7 runs
    python bench/github.py --quick    # 300 files, 3 runs

- ci: ``gatekit check --ci`` on a recorded push event (workflow commands, log
  groups, job summary, step outputs) against ``gatekit check --event ci --rev
  AFTER --base BEFORE`` (the same candidate, plain output) and against
  ``pre-commit run --from-ref BEFORE --to-ref AFTER`` with five equivalent
  ``language: system`` hooks; five trivial gates (``true``), results cache off.
- shards: six gates sleeping 1 s with ``--jobs 1``: one run against three
  shards run at once in three clones (``check --shard K/3``), then ``collect``;
  ideal 6 s against 2 s plus collect.

Medians; every tool interleaved so all see the same machine noise. Exit status 0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchrepo import commit_all, generate, med, ms, run, table, timed, tool, tool_env

PUSH = {
    "ref": "refs/heads/main",
    "repository": {"full_name": "bench/repo", "default_branch": "main"},
}


def _config(path: Path, gates: list[tuple[str, str]], jobs: int | None = None) -> None:
    doc = {
        "version": 1,
        "defaults": {"cache": False, **({"jobs": jobs} if jobs else {})},
        "gates": [{"id": gid, "session": {"run": [cmd]}} for gid, cmd in gates],
    }
    (path / "validation.yaml").write_text(json.dumps(doc, indent=1))


def bench_ci(tmp: Path, files: int, runs: int) -> list[list[str]]:
    env = tool_env(tmp)
    repo = tmp / "ci"
    generate(repo, files, env)
    gates = [(f"g{i}", "true") for i in range(5)]
    _config(repo, gates)
    hooks = "\n".join(
        f"      - {{id: g{i}, name: g{i}, entry: 'true', language: system, "
        "always_run: true, pass_filenames: false}"
        for i in range(5)
    )
    (repo / ".pre-commit-config.yaml").write_text(f"repos:\n  - repo: local\n    hooks:\n{hooks}\n")
    commit_all(repo, env)
    before = run(["git", "rev-parse", "HEAD"], repo, env).strip()
    (repo / "pkg00" / "mod0000" / "file000.py").write_text("VALUE = 'changed'\n")
    commit_all(repo, env, "change")
    after = run(["git", "rev-parse", "HEAD"], repo, env).strip()
    event = tmp / "push.json"
    event.write_text(json.dumps({**PUSH, "before": before, "after": after}))
    ci_env = {
        **env,
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(tmp / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "GITHUB_SHA": after,
        "PRE_COMMIT_HOME": str(tmp / "pre-commit-home"),
    }
    gk = tool("gatekit")
    commands = {
        "gatekit check --ci": [*gk, "check", "--no-record"],
        "gatekit check (plain)": [
            *gk,
            "check",
            "--no-ci",
            "--plain",
            "--no-record",
            "--event",
            "ci",
            "--rev",
            after,
            "--base",
            before,
        ],
        "pre-commit run --from-ref/--to-ref": [
            *tool("pre-commit"),
            "run",
            "--from-ref",
            before,
            "--to-ref",
            after,
        ],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():  # warm-up (pre-commit builds its store once)
        run(cmd, repo, ci_env)
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(timed(lambda cmd=cmd: run(cmd, repo, ci_env)))
    ref = med(times["pre-commit run --from-ref/--to-ref"])
    return [
        [name, ms(med(t)), f"{med(t) / ref:.2f}x", f"{min(t) * 1000:.0f}-{max(t) * 1000:.0f}"]
        for name, t in times.items()
    ]


def bench_shards(tmp: Path, files: int) -> list[list[str]]:
    env = tool_env(tmp)
    origin = tmp / "shards"
    generate(origin, files, env)
    sleep = f"{sys.executable} -c 'import time; time.sleep(1)'"
    _config(origin, [(f"s{i}", sleep) for i in range(6)], jobs=1)
    commit_all(origin, env)
    gk = tool("gatekit")
    args = ["check", "--plain", "--event", "ci", "--rev", "HEAD"]

    def clone(name: str) -> Path:
        path = tmp / name
        run(["git", "clone", "-q", str(origin), str(path)], tmp, env)
        return path

    single = clone("single")
    one = timed(lambda: run([*gk, *args], single, env))
    runners = [clone(f"runner{k}") for k in (1, 2, 3)]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [*gk, *args, "--shard", f"{k}/3"],
            cwd=r,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for k, r in enumerate(runners, start=1)
    ]
    codes = [p.wait() for p in procs]
    sharded = time.perf_counter() - start
    for r in runners:
        run([*gk, "push", str(origin)], r, env)
    collector = clone("collector")
    collect = timed(lambda: run([*gk, "collect", "--event", "ci", "--rev", "HEAD"], collector, env))
    assert codes == [0, 0, 0], codes
    return [
        ["one run, 6 x 1 s gates", f"{one:.2f} s", "ideal 6 s"],
        ["3 shards at once", f"{sharded:.2f} s", "ideal 2 s"],
        ["collect (fetch + combine)", ms(collect), ""],
        [
            "3 shards + collect",
            f"{sharded + collect:.2f} s",
            f"{(sharded + collect) / one:.2f}x one run",
        ],
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args()
    files, runs = (300, 3) if opts.quick else (2000, 7)
    tmp = Path(tempfile.mkdtemp(prefix="gatekit-bench-github-"))
    try:
        print(f"gatekit --ci: five trivial gates, {files} files, median of {runs}")
        print(table(["command", "median", "vs pre-commit", "range ms"], bench_ci(tmp, files, runs)))
        print()
        print(f"sharding: six 1 s gates, --jobs 1, {files} files")
        print(table(["what", "wall", "note"], bench_shards(tmp, files)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
