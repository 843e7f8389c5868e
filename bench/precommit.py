"""pre-commit: HOOK_ID gates against pre-commit itself (``nox -s bench``).

    python bench/precommit.py            # 7 runs of each
    python bench/precommit.py --quick    # 3 runs (smoke test)
    python bench/precommit.py --daemon   # also through `gatekit daemon` (warm start)

The project is gatekit's own source tree (``git archive HEAD``) in a fresh
repository whose ``.pre-commit-config.yaml`` names eight hooks of the upstream
pre-commit-hooks (v6.0.0) and ruff-pre-commit (v0.16.4) repositories, cloned
from the bundles in ``../shared/data/hook-repos`` (or ``GATEKIT_HOOK_REPOS``).
Its ``validation.yaml`` is ``extends: pre-commit``: the same hooks as gates. Both
tools share one PRE_COMMIT_HOME, built before timing.

In the same run, interleaved, medians:

- all: ``pre-commit run --all-files`` vs ``gatekit check --all --no-cache``
  (target <= 0.7x);
- cached: the same ``pre-commit run --all-files`` vs ``gatekit check --all``
  whose every gate passed before (target <= 0.2x);
- staged: one staged edit with unstaged edits beside it (pre-commit stashes
  them): ``pre-commit run`` vs ``gatekit check --staged``, the same candidate
  (what is staged; ``gatekit check`` alone takes the working tree) (target <= 0.5x).

With ``--daemon`` (what ``nox -s bench`` runs) every gatekit case is also timed
through a running ``gatekit daemon``, on a copy of the project made before any
check, as a user gets it from the second check on (the first check starts the
daemon); the in-process columns run with ``GATEKIT_NO_DAEMON=1``, as in CI.

Exit status 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

HOOKS = ("end-of-file-fixer", "trailing-whitespace", "check-yaml", "check-toml")
HOOKS2 = ("check-added-large-files", "check-merge-conflict")
RUFF = ("ruff-check", "ruff-format")


def bundles() -> Path:
    env = os.environ.get("GATEKIT_HOOK_REPOS")
    if env:
        return Path(env)
    for parent in HERE.parents:
        if (parent / "shared" / "data" / "hook-repos").is_dir():
            return parent / "shared" / "data" / "hook-repos"
    raise SystemExit("bench: hook repository bundles not found (set GATEKIT_HOOK_REPOS)")


def config(hooks: Path, ruff: Path) -> str:
    ids = "".join(f"    -   id: {h}\n" for h in (*HOOKS, *HOOKS2))
    rids = "".join(f"    -   id: {h}\n" for h in RUFF)
    return (
        "exclude: '^tests/'  # its data holds broken files on purpose\n"
        f"repos:\n-   repo: {hooks}\n    rev: v6.0.0\n    hooks:\n{ids}"
        f"-   repo: {ruff}\n    rev: v0.16.4\n    hooks:\n{rids}"
    )


def main() -> None:
    from _benchrepo import med, ms, run, table, timed, tool, tool_env

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--daemon", action="store_true", help="also through gatekit daemon")
    args = parser.parse_args()
    runs = 3 if args.quick else 7
    tmp = Path(tempfile.mkdtemp(prefix="gatekit-bench-pc-"))
    pre_commit, gatekit = tool("pre-commit"), tool("gatekit")
    env = tool_env(tmp)
    env["PRE_COMMIT_HOME"] = str(tmp / "pre-commit-home")
    denv = {k: v for k, v in env.items() if k != "GATEKIT_NO_DAEMON"}
    denv["XDG_RUNTIME_DIR"] = str(tmp / "xdg")
    (tmp / "xdg").mkdir(mode=0o700)
    daemon_up = False
    try:
        proj, files = _project(tmp, env)
        dproj = tmp / "project-daemon"
        if args.daemon:
            shutil.copytree(proj, dproj, symlinks=True)
        pc_all = [*pre_commit, "run", "--all-files"]
        gk_nocache = [*gatekit, "check", "--all", "--no-cache", "--plain"]
        gk_all = [*gatekit, "check", "--all", "--plain"]
        # what pre-commit checks: the staged change (its unstaged edits are not landing)
        gk_staged = [*gatekit, "check", "--staged", "--plain"]
        any_rc = (0, 1)
        run(gk_all, proj, env)  # warm: records the passes
        if args.daemon:
            run([*gatekit, "daemon", "start", "--idle-timeout", "10m"], tmp, denv)
            run(gk_all, dproj, denv)
            daemon_up = True
        keys = ("pc_all", "gk_all", "gk_cached", "pc_staged", "gk_staged")
        t: dict[str, list[float]] = {k: [] for k in (*keys, "dm_all", "dm_cached", "dm_staged")}
        staged, unstaged = [f for f in files if f.startswith("gatekit/") and f.endswith(".py")][:2]

        def edit(root: Path, i: int) -> None:
            with open(root / staged, "a") as f:
                f.write(f"VALUE_{i} = {i}\n")
            run(["git", "add", staged], root, env)
            with open(root / unstaged, "a") as f:
                f.write(f"# unstaged {i}\n")

        for i in range(runs):
            t["pc_all"].append(timed(lambda: run(pc_all, proj, env, any_rc)))
            t["gk_all"].append(timed(lambda: run(gk_nocache, proj, env, any_rc)))
            t["gk_cached"].append(timed(lambda: run(gk_all, proj, env, any_rc)))
            if args.daemon:
                t["dm_all"].append(timed(lambda: run(gk_nocache, dproj, denv, any_rc)))
                t["dm_cached"].append(timed(lambda: run(gk_all, dproj, denv, any_rc)))
            edit(proj, i)
            t["pc_staged"].append(timed(lambda: run([*pre_commit, "run"], proj, env, any_rc)))
            t["gk_staged"].append(timed(lambda: run(gk_staged, proj, env, any_rc)))
            run(["git", "checkout", "-q", "HEAD", "--", staged, unstaged], proj, env)
            if args.daemon:
                edit(dproj, i)
                t["dm_staged"].append(timed(lambda: run(gk_staged, dproj, denv, any_rc)))
                run(["git", "checkout", "-q", "HEAD", "--", staged, unstaged], dproj, env)
        m = {k: med(v) if v else float("nan") for k, v in t.items()}
        cases = (
            ("all hooks run", "pc_all", "gk_all", "dm_all", "0.7x"),
            ("everything cached", "pc_all", "gk_cached", "dm_cached", "0.2x"),
            ("staged + unstaged", "pc_staged", "gk_staged", "dm_staged", "0.5x"),
        )
        rows = []
        for name, pc, gk, dm, target in cases:
            row = [name, ms(m[pc]), ms(m[gk]), f"{m[gk] / m[pc]:.2f}x"]
            if args.daemon:
                row += [ms(m[dm]), f"{m[dm] / m[pc]:.2f}x"]
            rows.append([*row, target])
        head = ["case", "pre-commit", "in-process", "ratio"]
        if args.daemon:
            head += ["daemon", "ratio"]
        print(f"pre-commit hooks as gates: {len(files)} files, 8 hooks, medians of {runs}")
        print(table([*head, "target"], rows))
    finally:
        if daemon_up:
            run([*gatekit, "daemon", "stop"], tmp, denv)
        shutil.rmtree(tmp, ignore_errors=True)


def _project(tmp: Path, env: dict[str, str]) -> tuple[Path, list[str]]:
    """gatekit's own tree with the eight hooks, every hook passing, environments built."""
    from _benchrepo import commit_all, run, tool

    pre_commit = tool("pre-commit")
    src = bundles()
    hooks, ruff = tmp / "pre-commit-hooks", tmp / "ruff-pre-commit"
    run(["git", "clone", "-q", str(src / "pre-commit-hooks-v6.0.0.bundle"), str(hooks)], tmp, env)
    run(["git", "clone", "-q", str(src / "ruff-pre-commit-v0.16.4.bundle"), str(ruff)], tmp, env)
    proj = tmp / "project"
    proj.mkdir()
    run(["git", "init", "-q", "-b", "main"], proj, env)
    run(["git", "config", "gc.auto", "0"], proj, env)
    archive = subprocess.run(
        ["git", "archive", "HEAD"], cwd=HERE.parent, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x"], cwd=proj, input=archive, check=True)
    (proj / ".pre-commit-config.yaml").write_text(config(hooks, ruff))
    (proj / "validation.yaml").write_text("version: 1\nextends: pre-commit\n")
    commit_all(proj, env)
    files = run(["git", "ls-files"], proj, env).split()
    run([*pre_commit, "install-hooks"], proj, env)
    # a tree every hook passes (pre-commit's fixes committed), so that passes are recorded
    for _ in range(2):
        run([*pre_commit, "run", "--all-files"], proj, env, (0, 1))
        run(["git", "add", "-A"], proj, env)
        run(["git", "commit", "-q", "--no-verify", "--allow-empty", "-m", "fixes"], proj, env)
    run([*pre_commit, "run", "--all-files"], proj, env)
    return proj, files


if __name__ == "__main__":
    main()
