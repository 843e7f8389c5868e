"""Environment creation and reuse, uv against virtualenv (``nox -s bench``).

    python bench/envs.py            # 3 runs of each
    python bench/envs.py --quick    # 1 run of each (smoke test)

In the same run, for each backend (uv, the default; virtualenv, what gatekit
falls back to where uv cannot run, forced with ``GATEKIT_NO_UV=1``):

- nox create: ``nox -s env`` of a noxfile like the one gatekit generates
  (``session.install("pytest")``) in an empty envdir;
- nox reuse: the same with ``-R`` (the environment exists, nothing installed);
- gate create: a first ``gatekit check`` whose ``session:`` gate has
  ``deps: ["pytest"]`` and runs ``pytest --version``, in an empty gatekit
  environment cache (creation through the generated noxfile, then the run);
- gate reuse: the same check again (the environment is ready: no Nox at all).

Downloads come from the user's uv and pip caches (warm after the first run), so
the figures are what creating an environment costs, not the network. Medians;
uv / virtualenv ratios printed. Exit status 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

NOXFILE = """\
import nox


@nox.session(venv_backend={backend!r})
def env(session):
    session.install("pytest")
"""
VALIDATION = """\
version: 1
gates:
  - id: tests
    session: {deps: ["pytest"], run: ["pytest --version"]}
"""
BACKENDS = ("uv", "virtualenv")


def caches(env: dict[str, str]) -> dict[str, str]:
    """The user's download caches, kept while gatekit's own cache is a fresh directory."""
    home = Path(os.environ.get("HOME", "~")).expanduser()
    root = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    env.setdefault("UV_CACHE_DIR", os.environ.get("UV_CACHE_DIR", str(root / "uv")))
    env.setdefault("PIP_CACHE_DIR", os.environ.get("PIP_CACHE_DIR", str(root / "pip")))
    return env


def bench(runs: int, tmp: Path) -> dict[str, dict[str, float]]:
    from _benchrepo import commit_all, med, run, timed, tool, tool_env

    base = caches(tool_env(tmp))
    repo = tmp / "repo"
    repo.mkdir()
    run(["git", "init", "-q", "-b", "main"], repo, base)
    (repo / "validation.yaml").write_text(VALIDATION)
    commit_all(repo, base)
    figures: dict[str, dict[str, float]] = {}
    for backend in BACKENDS:
        env = dict(base)
        if backend == "virtualenv":
            env["GATEKIT_NO_UV"] = "1"
        noxfile = tmp / f"noxfile_{backend}.py"
        noxfile.write_text(NOXFILE.format(backend=backend))
        nox = [sys.executable, "-m", "nox", "--noxfile", str(noxfile), "-s", "env"]
        times: dict[str, list[float]] = {
            k: [] for k in ("nox create", "nox reuse", "gate create", "gate reuse")
        }
        for n in range(runs + 1):  # the first round warms the download caches, not timed
            envdir = tmp / f"nox-{backend}-{n}"
            create = timed(partial(run, [*nox, "--envdir", str(envdir)], tmp, env))
            reuse = timed(partial(run, [*nox, "--envdir", str(envdir), "-R"], tmp, env))
            env["XDG_CACHE_HOME"] = str(tmp / f"cache-{backend}-{n}")
            check = [*tool("gatekit"), "check", "--rev", "HEAD", "--no-cache"]
            gate_create = timed(partial(run, check, repo, env))
            gate_reuse = timed(partial(run, check, repo, env))
            shutil.rmtree(envdir, ignore_errors=True)
            if n:
                times["nox create"].append(create)
                times["nox reuse"].append(reuse)
                times["gate create"].append(gate_create)
                times["gate reuse"].append(gate_reuse)
        figures[backend] = {k: med(v) for k, v in times.items()}
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from _benchrepo import ms, table

    from gatekit.run import noxenv

    if noxenv.uv_binary() is None:
        print("bench envs: uv does not run here; nothing to compare")
        return 0
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="gatekit-bench-envs-") as tmp:
        figures = bench(runs, Path(tmp))
    rows = []
    for what in ("nox create", "nox reuse", "gate create", "gate reuse"):
        uv, venv = figures["uv"][what], figures["virtualenv"][what]
        rows.append([what, ms(uv), ms(venv), f"{uv / venv:.2f}x"])
    print(f"environments: uv against virtualenv, medians of {runs} run(s), pytest installed")
    print(table(["what", "uv", "virtualenv", "uv / virtualenv"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
