"""What gate isolation costs: five trivial gates, ``gatekit check --staged --no-cache``,
with a copy-on-write view per gate (overlay, the default on Linux) and with gates
taking turns in the shared shadow (``GATEKIT_ISOLATION=exclusive``), against
pre-commit running five ``true`` hooks on the same repository, in the same run.

    python bench/isolation.py [--quick] [--files N]

Both gatekit modes run in-process and through the warm-start daemon; medians.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

GATES = 5
VALIDATION = "version: 1\ngates:\n" + "".join(
    f"  - id: g{i}\n    session: {{run: ['true']}}\n" for i in range(GATES)
)
PRE_COMMIT = "repos:\n  - repo: local\n    hooks:\n" + "".join(
    f"      - id: g{i}\n        name: g{i}\n        entry: 'true'\n        language: system\n"
    "        pass_filenames: false\n"
    for i in range(GATES)
)


def main(argv: list[str] | None = None) -> int:
    from _benchrepo import commit_all, generate, med, ms, run, table, timed, tool, tool_env

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--files", type=int, default=2000)
    args = p.parse_args(argv)
    repeats = 3 if args.quick else 9
    with tempfile.TemporaryDirectory(prefix="gatekit-bench-iso-") as tmp_s:
        tmp = Path(tmp_s)
        env = tool_env(tmp)
        path = tmp / "repo"
        rels = generate(path, args.files, env)
        (path / "validation.yaml").write_text(VALIDATION)
        (path / ".pre-commit-config.yaml").write_text(PRE_COMMIT)
        commit_all(path, env)
        (path / rels[0]).write_text("# staged change\n")
        run(["git", "add", "--", rels[0]], path, env)
        (path / rels[1]).write_text("# unstaged edit\n")
        xdg = tmp / "xdg"
        xdg.mkdir(mode=0o700)
        denv = {k: v for k, v in env.items() if k != "GATEKIT_NO_DAEMON"}
        denv["XDG_RUNTIME_DIR"] = str(xdg)
        gk = [*tool("gatekit"), "check", "--staged", "--no-cache", "--no-record"]

        def with_mode(e: dict[str, str], mode: str) -> dict[str, str]:
            return {**e, "GATEKIT_ISOLATION": mode}

        cases: dict[str, Callable[[], object]] = {
            "in-process, overlay": lambda: run(gk, path, with_mode(env, "overlay")),
            "in-process, exclusive": lambda: run(gk, path, with_mode(env, "exclusive")),
            "daemon, overlay": lambda: run(gk, path, with_mode(denv, "overlay")),
            "daemon, exclusive": lambda: run(gk, path, with_mode(denv, "exclusive")),
            "pre-commit run": lambda: run([*tool("pre-commit"), "run"], path, env),
        }
        run([*tool("gatekit"), "daemon", "start", "--idle-timeout", "10m"], tmp, denv)
        try:
            for fn in cases.values():  # warm up byte code, shadows, pre-commit's store
                fn()
                fn()
            times: dict[str, list[float]] = {k: [] for k in cases}
            for _ in range(repeats):
                for name, fn in cases.items():
                    times[name].append(timed(fn))
        finally:
            run([*tool("gatekit"), "daemon", "stop"], tmp, denv)
    pc = med(times["pre-commit run"])
    rows = [[name, ms(med(t)), f"{med(t) / pc:.2f}x"] for name, t in times.items()]
    print(f"\nisolation: {GATES} trivial gates, {args.files} files, medians of {repeats}")
    print(table(["what", "median", "vs pre-commit"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
