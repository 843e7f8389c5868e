"""Secrets gate throughput: a change touching 100 files of a 10,000-file repository.

    python bench/secrets.py           # 10,000 files, 100 changed, median of 5
    python bench/secrets.py --quick   # 2,000 files, 20 changed, median of 3

In the same run, on one generated repository (committed, then the change staged):

- built-in: ``run_builtin("secrets", ...)`` in-process on the changed files
  (what the gate itself costs, no interpreter start-up);
- ``gatekit check --staged --no-cache`` with a config holding only the
  ``builtin: secrets`` gate (the whole command: start-up, candidate, shadow,
  masking pre-scan, the gate, the checkpoint);
- ``detect-secrets scan`` over the whole repository (the venv's CLI), which is
  what a hook that does not know the change has to do.

Prints medians and the ratios against detect-secrets. Exit status 0 whatever
the figures (it reports).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchrepo import commit_all, generate, med, ms, run, table, timed, tool, tool_env

CONFIG = "version: 1\ngates:\n  - id: secrets\n    builtin: secrets\n"


def builtin_direct(path: Path) -> float:
    """One in-process run of the secrets built-in on the staged candidate's changed files."""
    from gatekit.builtins import BuiltinContext, run_builtin
    from gatekit.git.candidate import CandidateSpec, resolve_candidate
    from gatekit.git.repo import open_repo

    repo = open_repo(path)
    cand = resolve_candidate(repo, CandidateSpec("staged"))
    ctx = BuiltinContext(
        root=path, paths=cand.changed, options={}, repo=repo, base=cand.base, tree=cand.tree
    )
    from gatekit.builtins import _secretscan

    _secretscan._SCANNED.clear()  # a real scan, not the per-process memo of the last one
    start = time.perf_counter()
    outcome = run_builtin("secrets", ctx)
    took = time.perf_counter() - start
    if not outcome.passed:
        raise SystemExit("bench: the secrets gate found something in generated files")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2,000 files, 20 changed, 3 runs")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=None, help="where to create the repository")
    args = parser.parse_args(argv)
    files, changed_n = (2_000, 20) if args.quick else (10_000, 100)
    repeats = args.repeats or (3 if args.quick else 5)

    tmp = Path(tempfile.mkdtemp(prefix="gatekit-bench-", dir=args.dir))
    try:
        env = tool_env(tmp)
        path = tmp / "repo"
        t0 = time.perf_counter()
        rels = generate(path, files, env)
        config = tmp / "secrets.yaml"
        config.write_text(CONFIG)
        commit_all(path, env)
        step = len(rels) // changed_n
        for rel in rels[::step][:changed_n]:
            target = path / rel
            target.write_text(
                target.read_text() + "def helper(x):\n    return {'name': x, 'count': len(x)}\n"
            )
        run(["git", "add", "-A"], path, env)
        print(
            f"generated {files:,} files, {changed_n} changed and staged, "
            f"in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )

        gk = [*tool("gatekit"), "check", "--staged", "--no-cache", "--config", str(config)]
        ds = [*tool("detect-secrets"), "scan"]
        run(gk, path, env)  # warm: byte code, shadow
        builtin_direct(path)
        t_builtin, t_gk, t_ds = [], [], []
        for _ in range(repeats):
            t_builtin.append(builtin_direct(path))
            t_gk.append(timed(lambda: run(gk, path, env)))
        # detect-secrets scans every file: seconds per run, so fewer runs
        for _ in range(1 if args.quick else 3):
            t_ds.append(timed(lambda: run(ds, path, env)))
        b, g, d = med(t_builtin), med(t_gk), med(t_ds)
        print(
            f"\nsecrets on a change of {changed_n} files in {files:,} (median of {repeats}; detect-secrets: {len(t_ds)}):"
        )
        print(
            table(
                ["what", "wall", "vs detect-secrets scan"],
                [
                    [
                        f"built-in secrets gate, in-process ({changed_n} files)",
                        ms(b),
                        f"{b / d:.2f}x",
                    ],
                    ["gatekit check --staged (secrets gate only)", ms(g), f"{g / d:.2f}x"],
                    [f"detect-secrets scan (whole repository, {files:,} files)", ms(d), "1.00x"],
                ],
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
