"""The overhead of enforcing resource limits (``nox -s bench``).

    python bench/limits.py            # 2,000-file repository, 9 runs each
    python bench/limits.py --quick    # 500 files, 5 runs

In the same run, interleaved so that all columns see the same machine noise:

- ``gatekit check --staged --no-cache`` with five trivial gates (``true``) whose
  limits are all ``unlimited`` (no prlimit wrapper, no breach checks; the cost is
  still sampled), the same five gates under gatekit's default limits (memory,
  disk, processes: the watcher walks the shadow for the disk figure), and under
  every limit (memory, cpu, disk, processes, open_files); where gatekit may make
  cgroups, the default and every-limit columns are run twice, with cgroups (what
  users get) and with ``GATEKIT_CGROUPS=0`` (rlimits and the watcher only);
- ``pre-commit run`` with five equivalent ``language: system`` hooks;
- in-process (``execute_plan``, no interpreter start-up): the five gates without
  limits, with every limit held by rlimits and the watcher, and with every limit
  and a cgroup per command (where gatekit may make one), interleaved.

Prints medians and ratios; exit status 0 whatever the figures (it reports).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchrepo import commit_all, generate, med, ms, run, table, timed, tool, tool_env
from overhead import PRE_COMMIT, trivial_plan

from gatekit.plan.model import GateLimits
from gatekit.run import cgroup
from gatekit.run.execute import GateHooks, RunOptions, execute_plan
from gatekit.run.output import PlainReporter

GATES = 5
EVERY = {"memory": "2G", "cpu": "10m", "disk": "1G", "processes": 256, "open_files": 1024}
OFF = {k: "unlimited" for k in EVERY}


def validation(limits: dict[str, object] | None) -> str:
    lines = ["version: 1", "gates:"]
    for i in range(1, GATES + 1):
        lines.append(f'  - id: g{i}\n    session: {{run: ["true"]}}')
        if limits is not None:
            inner = ", ".join(f"{k}: {v}" for k, v in limits.items())
            lines.append(f"    limits: {{{inner}}}")
    return "\n".join(lines) + "\n"


def in_process(tmp: Path, repeats: int) -> dict[str, float]:
    """Medians of the five gates run by ``execute_plan`` in this process, interleaved:
    without limits, with every limit held by rlimits and the watcher, and (where gatekit
    may make one) with every limit and a cgroup per command."""
    plain = trivial_plan(["true"] * GATES)
    every = GateLimits(memory=2**31, cpu=600.0, disk=2**30, processes=256, open_files=1024)
    limited = plain.model_copy(
        update={"gates": tuple(g.model_copy(update={"limits": every}) for g in plain.gates)}
    )
    shadow = tmp / "shadow"
    shadow.mkdir()

    class _Shadow:
        path = shadow

        def reset(self) -> None:
            return None

    def once(plan: object) -> float:
        run_dir = Path(tempfile.mkdtemp(dir=tmp, prefix="run-"))
        opts = RunOptions(jobs=1, env_cache_dir=tmp / "envs")
        t0 = time.perf_counter()
        results = execute_plan(
            plan,  # type: ignore[arg-type]
            _Shadow(),
            run_dir,
            opts,
            PlainReporter(io.StringIO()),
            GateHooks(),
        )
        took = time.perf_counter() - t0
        if any(r.outcome.value != "passed" for r in results):
            raise SystemExit("bench: in-process gates did not pass")
        return took

    where = cgroup.layout()
    times: dict[str, list[float]] = {"none": [], "rlimit": []}
    cold = f"{where.kind if where else ''}, entries not kept fast"
    if where is not None:
        times[where.kind] = []
        times[cold] = []
    kept_fast = cgroup.entries_kept_fast
    for _ in range(repeats):
        times["none"].append(once(plain))
        cgroup.use(None)
        times["rlimit"].append(once(limited))
        cgroup.use(where)
        if where is not None:
            times[where.kind].append(once(limited))
            # what each command's entry costs without cgroup.entries_kept_fast
            cgroup.entries_kept_fast = lambda wanted: contextlib.nullcontext()  # type: ignore[assignment,misc]
            try:
                times[cold].append(once(limited))
            finally:
                cgroup.entries_kept_fast = kept_fast  # type: ignore[misc]
    return {k: med(v) for k, v in times.items()}


def enforcement_of(repo: Path, env: dict[str, str]) -> str:
    """What ``gatekit plan`` says enforces the limits in ``repo`` (cgroup-v1, rlimit, ...)."""
    text = run([*tool("gatekit"), "plan", "--all"], repo, env)
    marker = "(enforced by "
    return text.split(marker, 1)[1].split(")", 1)[0] if marker in text else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    files, repeats = (500, 5) if args.quick else (2000, 9)
    with tempfile.TemporaryDirectory(prefix="gatekit-bench-limits-") as name:
        tmp = Path(name)
        env = tool_env(tmp)
        configs = {
            "unlimited": validation(OFF),
            "default": validation(None),
            "every": validation(EVERY),
        }
        repos: dict[str, Path] = {}
        for key, text in configs.items():
            path = tmp / f"repo-{key}"
            generate(path, files, env)
            (path / "validation.yaml").write_text(text)
            (path / ".pre-commit-config.yaml").write_text(PRE_COMMIT)
            commit_all(path, env)
            (path / "pkg00" / "mod0000" / "file000.py").write_text("VALUE = 'changed'\n")
            run(["git", "add", "-A"], path, env)
            repos[key] = path
        gk = [*tool("gatekit"), "check", "--staged", "--no-cache", "--no-record"]
        pc = [*tool("pre-commit"), "run"]
        for _ in range(2):  # warm
            for path in repos.values():
                run(gk, path, env)
            run(pc, repos["unlimited"], env)
        plain_env = {**env, "GATEKIT_CGROUPS": "0"}
        columns = {key: (path, env) for key, path in repos.items()}
        how = enforcement_of(repos["every"], env)
        if how.startswith("cgroup"):
            for key in ("default", "every"):
                columns[f"{key}, rlimit only"] = (repos[key], plain_env)
        for _ in range(2):
            for path, cenv in columns.values():
                run(gk, path, cenv)
        times: dict[str, list[float]] = {k: [] for k in (*columns, "pre-commit")}
        for _ in range(repeats):
            for key, (path, cenv) in columns.items():
                times[key].append(timed(lambda p=path, e=cenv: run(gk, p, e)))  # type: ignore[misc]
            times["pre-commit"].append(timed(lambda: run(pc, repos["unlimited"], env)))
        inproc = in_process(tmp, repeats)
    m = {k: med(v) for k, v in times.items()}
    rows = [
        [
            f"{key}",
            ms(m[key]),
            f"{m[key] / m['unlimited']:.2f}x",
            f"{m[key] / m['pre-commit']:.2f}x",
        ]
        for key in columns
    ]
    rows.append(["pre-commit", ms(m["pre-commit"]), "", "1.00x"])
    print(f"limits: five trivial gates, {files}-file repository, medians of {repeats}")
    print(f"enforcement here: {how}")
    print(table(["limits", "gatekit check", "vs unlimited", "vs pre-commit"], rows))
    base = inproc["none"]
    shown = [f"without limits {ms(base)}"] + [
        f"every limit by {k} {ms(v)} ({v / base:.2f}x, {(v - base) / GATES * 1000:+.1f} ms per gate)"
        for k, v in inproc.items()
        if k != "none"
    ]
    print("in-process (execute_plan): " + ", ".join(shown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
