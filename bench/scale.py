"""How a check's cost grows with the repository, beside git's own ``git status``.

    python bench/scale.py                    # 2,000, 20,000 and 100,000 files, 5 runs each
    python bench/scale.py --sizes 2000 20000 --runs 3
    python bench/scale.py --quick            # 500 and 2,000 files, 3 runs

For each size, on a generated repository with five ``true`` gates (in-process,
``GATEKIT_NO_DAEMON=1``), an unstaged edit present:

- first: the very first ``gatekit check --staged`` (the shadow is materialised,
  the plan compiled): one run;
- warm: ``gatekit check --staged --no-cache`` on the same candidate (median);
- new change: a new staged change, then ``gatekit check --staged`` (median);
- ``git status`` and ``git diff --cached --quiet`` in the same repository (median),
  as git's own cost of looking at the working tree and the index.

The growth columns divide each figure by its value at the smallest size. Exit
status 0 whatever the figures (it reports).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from _benchrepo import commit_all, generate, med, ms, run, table, timed, tool, tool_env

VALIDATION = "version: 1\ngates:\n" + "".join(
    f'  - {{id: g{i}, session: {{run: ["true"]}}}}\n' for i in range(1, 6)
)


def measure(files: int, runs: int, tmp: Path) -> dict[str, float]:
    env = tool_env(tmp)
    path = tmp / f"repo{files}"
    t0 = time.perf_counter()
    rels = generate(path, files, env)
    (path / "validation.yaml").write_text(VALIDATION)
    commit_all(path, env)
    made = time.perf_counter() - t0
    staged, unstaged = rels[len(rels) // 2], rels[len(rels) // 3]
    staged_text, unstaged_text = (path / staged).read_text(), (path / unstaged).read_text()
    (path / unstaged).write_text(f"{unstaged_text}# not staged\n")

    def stage(n: int) -> None:
        (path / staged).write_text(f"{staged_text}# change {n}\n")
        run(["git", "add", "--", staged], path, env)

    gk = [*tool("gatekit"), "check", "--staged"]
    stage(0)
    first = timed(lambda: run(gk, path, env))
    warm = [timed(lambda: run([*gk, "--no-cache"], path, env)) for _ in range(runs)]
    new = []
    for n in range(1, runs + 1):
        stage(n)
        new.append(timed(lambda: run(gk, path, env)))
    status = [timed(lambda: run(["git", "status", "--porcelain"], path, env)) for _ in range(runs)]
    diff = [
        timed(lambda: run(["git", "diff", "--cached", "--quiet"], path, env, ok=(0, 1)))
        for _ in range(runs)
    ]
    shutil.rmtree(path, ignore_errors=True)
    return {
        "files": files,
        "made": made,
        "first": first,
        "warm": med(warm),
        "new": med(new),
        "status": med(status),
        "diff": med(diff),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = args.sizes or ([500, 2_000] if args.quick else [2_000, 20_000, 100_000])
    runs = args.runs or (3 if args.quick else 5)
    tmp = Path(tempfile.mkdtemp(prefix="gatekit-scale-", dir=args.dir))
    try:
        rows = []
        for files in sizes:
            rows.append(measure(files, runs, tmp))
            print(f"{files:,} files measured (generated in {rows[-1]['made']:.0f} s)", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = rows[0]
    print(f"\nscale: five `true` gates, in-process, medians of {runs} (first: one run)")
    print(
        table(
            [
                "files",
                "first",
                "warm",
                "new change",
                "git status",
                "git diff --cached",
                "warm growth",
                "new growth",
                "status growth",
            ],
            [
                [
                    f"{r['files']:,}",
                    ms(r["first"]),
                    ms(r["warm"]),
                    ms(r["new"]),
                    ms(r["status"]),
                    ms(r["diff"]),
                    f"{r['warm'] / base['warm']:.2f}x",
                    f"{r['new'] / base['new']:.2f}x",
                    f"{r['status'] / base['status']:.2f}x",
                ]
                for r in rows
            ],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
