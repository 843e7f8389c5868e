"""Warm overhead of a real project's test gate (``nox -s bench``).

    python bench/localgate.py            # 9 runs of each
    python bench/localgate.py --quick    # 3 runs (smoke test)

The project is iniconfig as released on PyPI (the copy in tests/data/projects),
in a git repository whose ``validation.yaml`` has one gate:
``session: {deps: [".", "pytest"], run: ["pytest -q -p no:cacheprovider testing"]}``.
After two warming checks its environment is ready and the package, unchanged,
is installed in its overlay: what is left is gatekit's own cost.

In the same run, interleaved:

- direct: the same pytest command in a prepared venv (``uv venv`` +
  ``uv pip install . pytest``), run in a checkout of the same tree;
- gatekit in-process: ``gatekit check --rev HEAD --no-cache`` with
  ``GATEKIT_NO_DAEMON=1`` (the first check, CI);
- gatekit daemon: the same through ``gatekit daemon`` (what a user gets from
  the second check on), on its own copy of the repository.

Target: the daemon figure <= 1.2x direct + 100 ms. Medians; the ratio and the
target are printed. Exit status 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

PROJECT = HERE.parent / "tests" / "data" / "projects" / "iniconfig"
PYTEST = ["pytest", "-q", "-p", "no:cacheprovider", "testing"]
VALIDATION = f"""\
version: 1
gates:
  - id: tests
    session: {{deps: [".", "pytest"], run: ["{" ".join(PYTEST)}"]}}
"""


def both(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run a check; its stdout and stderr (the plain progress lines are on stderr)."""
    import subprocess

    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr


def bench(runs: int, tmp: Path) -> dict[str, float]:
    from _benchrepo import commit_all, med, run, timed, tool, tool_env
    from envs import caches

    from gatekit.run import noxenv

    env = caches(tool_env(tmp))
    env["XDG_CACHE_HOME"] = str(tmp / "cache")  # gatekit's environments: built here, once
    xdg = tmp / "xdg"
    xdg.mkdir(mode=0o700)
    denv = {k: v for k, v in env.items() if k != "GATEKIT_NO_DAEMON"}
    denv["XDG_RUNTIME_DIR"] = str(xdg)
    repo = tmp / "iniconfig"
    shutil.copytree(PROJECT, repo)
    run(["git", "init", "-q", "-b", "main"], repo, env)
    run(["git", "config", "gc.auto", "0"], repo, env)
    (repo / "validation.yaml").write_text(VALIDATION)
    commit_all(repo, env, "iniconfig as released")
    drepo = tmp / "iniconfig-daemon"
    shutil.copytree(repo, drepo, symlinks=True)
    checkout = tmp / "checkout"
    run(["git", "clone", "-q", str(repo), str(checkout)], tmp, env)

    uv = noxenv.uv_binary()
    assert uv is not None, "bench localgate needs uv"
    venv = tmp / "venv"
    run([uv, "venv", "-q", str(venv)], tmp, env)
    run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin/python"), ".", "pytest"],
        checkout,
        env,
    )

    check = [*tool("gatekit"), "check", "--plain", "--rev", "HEAD", "--no-cache"]

    def direct() -> None:
        run([str(venv / "bin" / PYTEST[0]), *PYTEST[1:]], checkout, env)

    run([*tool("gatekit"), "daemon", "start", "--idle-timeout", "10m"], tmp, denv)
    try:
        for _ in range(2):  # warm: the environment, the wheel, the overlay, byte code
            out = both(check, repo, env)
            run(check, drepo, denv)
            direct()
        if "54 passed" not in out:
            raise SystemExit(f"bench: the gate did not run iniconfig's suite:\n{out[-2000:]}")
        t_direct, t_gk, t_dm = [], [], []
        for _ in range(runs):
            t_direct.append(timed(direct))
            t_gk.append(timed(lambda: run(check, repo, env)))
            t_dm.append(timed(lambda: run(check, drepo, denv)))
        log = both(check, drepo, denv)
    finally:
        run([*tool("gatekit"), "daemon", "stop"], tmp, denv)
    for phase in ("== environment", "== install"):
        if phase in log:
            raise SystemExit(f"bench: a warm check still went through {phase!r}:\n{log[-2000:]}")
    return {"direct": med(t_direct), "gatekit": med(t_gk), "daemon": med(t_dm)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from _benchrepo import ms, table

    runs = 3 if args.quick else 9
    with tempfile.TemporaryDirectory(prefix="gatekit-bench-localgate-") as tmp:
        f = bench(runs, Path(tmp))
    target = 1.2 * f["direct"] + 0.1
    rows = [
        ["pytest directly in a prepared venv", ms(f["direct"]), "1.00x", ""],
        [
            "gatekit check, daemon",
            ms(f["daemon"]),
            f"{f['daemon'] / f['direct']:.2f}x",
            f"target <= {ms(target)}: {'met' if f['daemon'] <= target else 'MISSED'}",
        ],
        [
            "gatekit check, in-process",
            ms(f["gatekit"]),
            f"{f['gatekit'] / f['direct']:.2f}x",
            f"{'within' if f['gatekit'] <= target else 'over'} {ms(target)}",
        ],
    ]
    print(f"warm test gate of a real project (iniconfig, 54 tests), medians of {runs} runs")
    print(table(["what", "time", "ratio", "1.2x direct + 100 ms"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
