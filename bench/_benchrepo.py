"""Shared helpers of bench/overhead.py and bench/secrets.py: generated repositories,
a clean environment for the tools under test, timing and tables.

Both tools run as separate processes with the same environment: GIT_* variables
of a calling hook removed, ``PYTHONDONTWRITEBYTECODE`` dropped and
``PYTHONPYCACHEPREFIX`` pointing into the bench's temporary directory, so that
gatekit (an editable install, whose sources have no byte code yet) and
pre-commit / detect-secrets (wheels, compiled on install) both run from byte
code as an installed tool would, without writing into the source tree.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

BIN = Path(sys.executable).parent


def tool_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.invalid",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        # in-process unless a bench starts a daemon itself (and then drops this)
        GATEKIT_NO_DAEMON="1",
    )
    return env


def tool(name: str) -> list[str]:
    """The venv's console script NAME (the interpreter running the bench)."""
    exe = BIN / name
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    if found:
        return [found]
    if name == "gatekit":
        return [sys.executable, "-m", "gatekit"]
    raise SystemExit(f"bench: '{name}' not found next to {sys.executable} nor on PATH")


def run(cmd: Sequence[str], cwd: Path, env: dict[str, str], ok: Sequence[int] = (0,)) -> str:
    proc = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, check=False)
    if proc.returncode not in ok:
        raise SystemExit(
            f"bench: {' '.join(cmd)} exited {proc.returncode}:\n"
            f"{proc.stdout.decode(errors='replace')[-2000:]}\n{proc.stderr.decode(errors='replace')[-2000:]}"
        )
    return proc.stdout.decode(errors="replace")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def generate(
    path: Path, files: int, env: dict[str, str], per_dir: int = 50, seed: int = 20240601
) -> list[str]:
    """A committed repository of ``files`` small Python files; returns their paths."""
    rng = random.Random(seed)
    path.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], path, env)
    # no background 'git gc --auto' packing objects while a tool is timed (or copied)
    run(["git", "config", "gc.auto", "0"], path, env)
    words = [f"word{i}" for i in range(500)]
    rels = []
    for i in range(files):
        rel = f"pkg{i // (per_dir * 20):02d}/mod{i // per_dir:04d}/file{i % per_dir:03d}.py"
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = " ".join(rng.choice(words) for _ in range(rng.randint(20, 80)))
        target.write_text(f"# {rel}\nVALUE = {i}\n# {text}\n")
        rels.append(rel)
    return rels


def commit_all(path: Path, env: dict[str, str], message: str = "base") -> None:
    run(["git", "add", "-A"], path, env)
    run(["git", "commit", "-q", "--no-verify", "-m", message], path, env)


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        cells = enumerate(zip(r, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in cells)

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
