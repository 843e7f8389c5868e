"""A first CI run: empty caches, three Python tool gates, gatekit against pre-commit.

    python bench/coldci.py             # 3 cold runs of each, interleaved
    python bench/coldci.py --quick     # one run of each

One generated repository (500 files, one staged change). Each run starts with
empty caches for its tool only: gatekit's environment directory
(``XDG_CACHE_HOME``) and uv's download cache (``UV_CACHE_DIR``); pre-commit's
store (``PRE_COMMIT_HOME``) and pip's download cache (``PIP_CACHE_DIR``). The
gates are the same three tools either way: ruff, pyflakes and pycodestyle,
as ``session: {deps: [...]}`` gates and as local ``language: python`` hooks with
``additional_dependencies``. Then a second run of each with its caches kept
(the second CI job once the action's cache step restored them). In-process
gatekit (``GATEKIT_NO_DAEMON=1``); medians. Exit status 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _benchrepo import commit_all, generate, med, ms, run, table, timed, tool, tool_env

TOOLS = {
    "ruff": ("ruff", "ruff check --select E9,F63,F7 ."),
    "pyflakes": ("pyflakes", "pyflakes pkg00/mod0000"),
    "pycodestyle": ("pycodestyle", "pycodestyle --select E9 pkg00/mod0000"),
}

VALIDATION = "version: 1\ngates:\n" + "".join(
    f'  - {{id: {name}, session: {{deps: ["{dep}"], run: ["{cmd}"]}}}}\n'
    for name, (dep, cmd) in TOOLS.items()
)
PRE_COMMIT = "repos:\n  - repo: local\n    hooks:\n" + "".join(
    f"      - id: {name}\n        name: {name}\n        language: python\n"
    f"        additional_dependencies: [{dep}]\n        entry: {cmd.split()[0]}\n"
    f"        args: {cmd.split()[1:]!r}\n        pass_filenames: false\n        always_run: true\n"
    for name, (dep, cmd) in TOOLS.items()
).replace("'", '"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="one run of each")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    tmp = Path(tempfile.mkdtemp(prefix="gatekit-coldci-", dir=args.dir))
    try:
        env = tool_env(tmp)
        path = tmp / "repo"
        rels = generate(path, 500, env)
        (path / "validation.yaml").write_text(VALIDATION)
        (path / ".pre-commit-config.yaml").write_text(PRE_COMMIT)
        commit_all(path, env)
        (path / rels[7]).write_text((path / rels[7]).read_text() + "# change\n")
        run(["git", "add", "--", rels[7]], path, env)

        def caches(name: str, n: int) -> dict[str, str]:
            root = tmp / f"{name}{n}"
            if name == "gk":
                return {"XDG_CACHE_HOME": str(root / "xdg"), "UV_CACHE_DIR": str(root / "uv")}
            return {"PRE_COMMIT_HOME": str(root / "pc"), "PIP_CACHE_DIR": str(root / "pip")}

        gk = [*tool("gatekit"), "check", "--staged", "--no-cache"]
        pc = [*tool("pre-commit"), "run"]
        cold_gk, cold_pc, warm_gk, warm_pc = [], [], [], []
        for n in range(args.runs):
            gk_env = {**env, **caches("gk", n)}
            pc_env = {**env, **caches("pc", n)}
            cold_gk.append(timed(lambda e=gk_env: run(gk, path, e)))
            cold_pc.append(timed(lambda e=pc_env: run(pc, path, e)))
            warm_gk.append(timed(lambda e=gk_env: run(gk, path, e)))
            warm_pc.append(timed(lambda e=pc_env: run(pc, path, e)))
            print(
                f"run {n + 1}: gatekit {ms(cold_gk[-1])}, pre-commit {ms(cold_pc[-1])}", flush=True
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nfirst CI run, empty caches, three tool gates (median of {args.runs}):")
    rows = [
        ["empty caches", ms(med(cold_gk)), ms(med(cold_pc)), f"{med(cold_gk) / med(cold_pc):.2f}x"],
        [
            "caches kept (second job)",
            ms(med(warm_gk)),
            ms(med(warm_pc)),
            f"{med(warm_gk) / med(warm_pc):.2f}x",
        ],
    ]
    print(table(["", "gatekit", "pre-commit", "gk/pc"], rows))
    print("target: empty caches at most 0.5x pre-commit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
