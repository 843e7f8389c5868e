"""Benchmark: shadow materialisation and incremental refresh against git itself.

    python bench/shadow.py            # 20,000 files in 400 directories
    python bench/shadow.py --quick    # 2,000 files in 40 directories (smoke test)

Generates a repository in a temporary directory, then measures in the same run
(medians of several repeats, because disks here are noisy):

- full: ``ShadowPool.acquire`` into a new slot (commit, worktree, checkout,
  safety scan) vs ``git worktree add --detach``;
- refresh: ``ShadowPool.acquire`` on a warm slot, alternating between two
  candidates that differ in 10 files, vs ``git checkout --detach`` between the
  same two commits in a linked worktree.

Targets (the issue): full <= 1.5x git worktree add; refresh < 0.1 s and <= 2x
git checkout. Exit status 0 whatever the figures (it reports, it does not gate).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
for _var in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"):
    ENV.pop(_var, None)


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
    return proc.stdout.decode().strip()


def generate(path: Path, files: int, dirs: int, rng: random.Random) -> tuple[str, str]:
    """A repository with ``files`` files in ``dirs`` directories; returns two commits 10 files apart."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    per_dir = files // dirs
    words = [f"word{i}" for i in range(500)]
    for d in range(dirs):
        sub = path / f"pkg{d // 20:02d}" / f"mod{d:03d}"
        sub.mkdir(parents=True)
        for f in range(per_dir):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(20, 120)))
            (sub / f"file{f:03d}.py").write_text(f"# {d}/{f}\n{text}\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    first = git(path, "rev-parse", "HEAD")
    tracked = git(path, "ls-files").splitlines()
    for rel in rng.sample(tracked, 10):
        (path / rel).write_text((path / rel).read_text() + "changed\n")
    git(path, "commit", "-q", "-am", "ten files")
    second = git(path, "rev-parse", "HEAD")
    return first, second


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2,000 files in 40 directories")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per measurement")
    parser.add_argument("--dir", type=Path, default=None, help="where to create the repository")
    args = parser.parse_args(argv)
    files, dirs = (2_000, 40) if args.quick else (20_000, 400)
    full_n = args.repeats or (3 if args.quick else 5)
    refresh_n = (args.repeats or 5) * 2 + 1

    from gatekit.git.candidate import CandidateSpec, resolve_candidate
    from gatekit.git.repo import open_repo
    from gatekit.git.shadow import ShadowPool

    tmp = Path(tempfile.mkdtemp(prefix="gatekit-bench-", dir=args.dir))
    try:
        rng = random.Random(20240601)
        repo_path = tmp / "repo"
        t = timed(lambda: generate(repo_path, files, dirs, rng))
        c0, c1 = git(repo_path, "rev-parse", "HEAD~1"), git(repo_path, "rev-parse", "HEAD")
        print(f"generated {files} files in {dirs} directories in {t:.1f} s ({tmp})")
        repo = open_repo(repo_path)
        cand0 = resolve_candidate(repo, CandidateSpec("rev", rev=c0))
        cand1 = resolve_candidate(repo, CandidateSpec("rev", rev=c1, base=c0))
        assert len(cand1.changed) == 10, cand1.changed

        # -- full materialisation --------------------------------------------------
        git_full, gk_full = [], []
        for i in range(full_n):
            wt = tmp / f"wt{i}"
            pool = ShadowPool(open_repo(repo_path))

            def full(pool: ShadowPool = pool) -> None:
                with pool.acquire(cand0):
                    pass

            def git_add(wt: Path = wt) -> None:
                git(repo_path, "worktree", "add", "-q", "--detach", str(wt), c0)

            # alternate the order and flush dirty pages first: neither side pays for the other's writes
            for which in ("git", "gatekit") if i % 2 == 0 else ("gatekit", "git"):
                os.sync()
                if which == "git":
                    git_full.append(timed(git_add))
                else:
                    gk_full.append(timed(full))
            git(repo_path, "worktree", "remove", "--force", str(wt))
            pool.remove("s0")

        # -- incremental refresh ---------------------------------------------------
        wt = tmp / "wt-checkout"
        git(repo_path, "worktree", "add", "-q", "--detach", str(wt), c0)
        git_refresh = []
        os.sync()
        for i in range(refresh_n):
            target = c1 if i % 2 == 0 else c0
            git_refresh.append(
                timed(lambda target=target: git(wt, "checkout", "-q", "--detach", target))
            )
        pool = ShadowPool(open_repo(repo_path))
        with pool.acquire(cand0):
            pass
        gk_refresh = []
        os.sync()
        for i in range(refresh_n):
            cand = cand1 if i % 2 == 0 else cand0

            def refresh(pool: ShadowPool = pool, cand: object = cand) -> None:
                with pool.acquire(cand):  # type: ignore[arg-type]
                    pass

            gk_refresh.append(timed(refresh))
        from gatekit.git import safety

        def cold_scan() -> None:
            safety._SCANNED.clear()
            safety.scan_tree(repo, cand1.tree)

        scans = [timed(cold_scan) for _ in range(5)]
        cli = []
        for i in range(5):
            rev = c1 if i % 2 == 0 else c0
            cmd = [sys.executable, "-m", "gatekit", "shadow", "refresh", "--rev", rev]
            env = dict(ENV, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
            cli.append(
                timed(
                    lambda cmd=cmd, env=env: subprocess.run(
                        cmd, cwd=repo_path, env=env, capture_output=True, check=True
                    )
                )
            )
        staged = [
            timed(lambda: resolve_candidate(open_repo(repo_path), CandidateSpec("staged")))
            for _ in range(5)
        ]

        med = statistics.median
        rows = [
            ("full: git worktree add --detach", med(git_full)),
            ("full: gatekit shadow (new slot)", med(gk_full)),
            ("refresh 10 files: git checkout", med(git_refresh)),
            ("refresh 10 files: gatekit shadow", med(gk_refresh)),
            ("gatekit shadow refresh (CLI process)", med(cli)),
            ("resolve staged candidate", med(staged)),
            ("safety scan of the tree (cold)", med(scans)),
        ]
        print(f"\nmedians ({full_n} full runs, {refresh_n} refreshes):")
        for label, value in rows:
            print(f"  {label:<36} {value * 1000:8.1f} ms")
        full_ratio = med(gk_full) / med(git_full)
        refresh_ratio = med(gk_refresh) / med(git_refresh)
        print(f"\nratio full     gatekit / git worktree add = {full_ratio:.2f}  (target <= 1.5)")
        print(f"ratio refresh  gatekit / git checkout     = {refresh_ratio:.2f}  (target <= 2.0)")
        print(f"refresh absolute {med(gk_refresh):.3f} s (target < 0.1 s)")
        ok = full_ratio <= 1.5 and refresh_ratio <= 2.0 and med(gk_refresh) < 0.1
        print("targets: " + ("met" if ok else "NOT met"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
