"""Nox environments for gates.

A ``session:`` gate gets an environment that gatekit creates through a Nox
session it generates (``<cache>/<key>/noxfile.py``, run as a subprocess), cached
by a hash of python + deps + backend. After Nox created it, a ``ready`` marker
holding the key is written; from then on (the hot path) the gate's commands run
directly with the environment's ``bin/`` first on PATH: no Nox start-up. Gates
without deps need no environment at all. Creation is serialised by a file lock,
so two gates or two gatekit processes never build the same environment at once.

``nox: NAME`` gates run the shadow's own noxfile through Nox itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO

from gatekit.atomicfile import write_atomic
from gatekit.lazyclass import dataclass
from gatekit.plan.model import PlannedGate
from gatekit.run.localbuild import BuiltWheel, deps_wheel, deps_wheel_name
from gatekit.run.proc import LineCallback, ProcessRegistry, run_process

ENV_SESSION = "env"
MARKER = "ready"
_KEY_VERSION = 2

_backend_lock = threading.Lock()
_backend: str | None = None
_uv: str | None = None


class EnvironmentFailure(Exception):
    """An environment could not be created (failure class "environment")."""

    def __init__(
        self, message: str, exit_code: int | None = None, command: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.command = command


class LockStopped(Exception):
    """The run was stopped while waiting for an environment lock."""


@dataclass(frozen=True)
class LocalDeclared:
    """What a local package declares: the environment gets it, not the package."""

    name: str
    requires: tuple[str, ...]  # Requires-Dist lines (other local packages left out)
    provides: tuple[str, ...]  # Provides-Extra
    extras: tuple[str, ...]  # the extras the gate asks for


@dataclass(frozen=True)
class EnvSpec:
    python: str | None
    deps: tuple[str, ...]  # from the package index, as written
    backend: str
    files: tuple[tuple[str, str], ...] = ()  # ("-r" | "-c", flattened content)
    local: tuple[LocalDeclared, ...] = ()

    @property
    def key(self) -> str:
        python = (
            self.python
            or f"current:{sys.implementation.name}:{sys.version.split()[0]}:{sys.executable}"
        )
        body = json.dumps(
            {
                "v": _KEY_VERSION,
                "python": python,
                "deps": list(self.deps),
                "backend": self.backend,
                "files": [list(f) for f in self.files],
                "local": [
                    [d.name, list(d.requires), list(d.provides), list(d.extras)] for d in self.local
                ],
            },
            sort_keys=True,
        )
        return hashlib.sha256(body.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class ReadyEnv:
    key: str
    venv: Path
    bin_dir: Path


def choose_backend() -> str:
    """uv when it runs here (the uv package, a gatekit dependency, or on PATH), else virtualenv."""
    global _backend, _uv
    with _backend_lock:
        if _backend is None:
            _uv = _working_uv()
            _backend = "uv" if _uv is not None else "virtualenv"
        return _backend


def uv_binary() -> str | None:
    """The uv executable gatekit uses, None where uv cannot run."""
    choose_backend()
    return _uv


def _working_uv() -> str | None:
    if os.environ.get("GATEKIT_NO_UV"):
        return None
    candidates: list[str] = []
    if importlib.util.find_spec("uv") is not None:
        with contextlib.suppress(Exception):
            from uv import find_uv_bin

            candidates.append(find_uv_bin())
    found = shutil.which("uv")
    if found:
        candidates.append(found)
    for path in candidates:
        try:
            ok = (
                subprocess.run(
                    [path, "--version"],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=10,
                    check=False,
                ).returncode
                == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return path
    return None


def spec_for(gate: PlannedGate) -> EnvSpec | None:
    """The environment a ``session:`` gate needs; None when it has no deps, or deps that
    name the candidate (their environment depends on it: gatekit.run.sessionenv)."""
    from gatekit.run.localdeps import needs_candidate

    if gate.session is None or not gate.session.deps or needs_candidate(gate.session.deps):
        return None
    return EnvSpec(gate.session.python, tuple(gate.session.deps), choose_backend())


def ready_env(cache_dir: Path, key: str) -> ReadyEnv | None:
    """The environment if it exists and is marked ready (the hot path: two stat calls)."""
    root = cache_dir / key
    try:
        marker = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("key") != key:
        return None
    venv = root / str(marker.get("venv", ""))
    bin_dir = venv / "bin"
    if not (bin_dir / "python").exists():
        return None
    return ReadyEnv(key, venv, bin_dir)


def install_args(spec: EnvSpec, root: Path) -> list[str]:
    """What the generated session installs: index deps, requirement files, local declarations."""
    args = list(spec.deps)
    for number, (option, _text) in enumerate(spec.files):
        args += [option, str(root / "req" / f"{number}.txt")]
    for declared in spec.local:
        wheel = root / "local" / deps_wheel_name(declared.name)
        extras = f"[{','.join(declared.extras)}]" if declared.extras else ""
        args.append(f"{wheel}{extras}")
    return args


def noxfile_text(spec: EnvSpec, root: Path | None = None) -> str:
    args = install_args(spec, root) if root is not None else list(spec.deps)
    return (
        '"""Generated by gatekit: creates one cached environment. Do not edit."""\n'
        "import nox\n\n"
        "nox.options.error_on_missing_interpreters = True\n\n\n"
        f"@nox.session(name={ENV_SESSION!r}, python={spec.python!r}, venv_backend={spec.backend!r})\n"
        "def env(session):\n"
        f"    args = {args!r}\n"
        "    if args:\n"
        "        session.install(*args)\n"
    )


def creation_command(spec: EnvSpec, cache_dir: Path) -> list[str]:
    root = cache_dir / spec.key
    return [
        sys.executable,
        "-m",
        "nox",
        "--noxfile",
        str(root / "noxfile.py"),
        "--envdir",
        str(root / "nox"),
        "-s",
        ENV_SESSION,
        "--no-color",
    ]


def prepare_creation(spec: EnvSpec, cache_dir: Path) -> Path:
    """Write the generated noxfile and clear a stale marker; returns the env root."""
    root = cache_dir / spec.key
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (root / MARKER).unlink()
    for number, (_option, text) in enumerate(spec.files):
        (root / "req").mkdir(exist_ok=True)
        (root / "req" / f"{number}.txt").write_text(text, encoding="utf-8")
    for declared in spec.local:
        info = BuiltWheel(Path(), declared.name, declared.requires, declared.provides)
        deps_wheel(root / "local", info, frozenset())
    (root / "noxfile.py").write_text(noxfile_text(spec, root), encoding="utf-8")
    return root


def mark_ready(spec: EnvSpec, cache_dir: Path) -> ReadyEnv:
    """After Nox succeeded: find the venv it made and write the ready marker."""
    root = cache_dir / spec.key
    found = sorted(p.parent.parent for p in (root / "nox").glob("*/bin/python"))
    if not found:
        raise EnvironmentFailure(f"nox finished but left no environment under {root / 'nox'}")
    venv = found[0]
    from gatekit.run.overlay import install_hook

    install_hook(venv)  # local packages are overlaid per candidate (gatekit.run.overlay)
    marker = {"key": spec.key, "venv": str(venv.relative_to(root)), "deps": list(spec.deps)}
    write_atomic(root / MARKER, json.dumps(marker, sort_keys=True) + "\n")
    return ReadyEnv(spec.key, venv, venv / "bin")


@contextlib.contextmanager
def file_lock(path: Path, stopping: threading.Event | None = None) -> Iterator[None]:
    """An exclusive flock; polls so that a stopped run does not wait for ever."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if stopping is not None and stopping.is_set():
                    raise LockStopped(str(path)) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def create_env(
    spec: EnvSpec,
    cache_dir: Path,
    env: Mapping[str, str],
    *,
    timeout: float,
    grace: float,
    log: IO[str] | None = None,
    on_line: LineCallback | None = None,
    registry: ProcessRegistry | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ReadyEnv:
    """Create the environment through the generated noxfile, once, under a file lock.

    Raises EnvironmentFailure when Nox fails, LockStopped when the run is stopped.
    """
    stopping = registry.stopping if registry is not None else None
    with file_lock(cache_dir / f"{spec.key}.lock", stopping):
        ready = ready_env(cache_dir, spec.key)
        if ready is not None:
            return ready  # another gate or process made it meanwhile
        prepare_creation(spec, cache_dir)
        argv = creation_command(spec, cache_dir)
        command = shlex.join(["nox", *argv[3:]])
        if log is not None:
            log.write(f"$ {command}\n")
            log.flush()
        res = run_process(
            argv,
            cwd=cache_dir / spec.key,
            env=env,
            timeout=timeout,
            grace=grace,
            log=log,
            on_line=on_line,
            registry=registry,
            on_start=on_start,
        )
        if res.stopped:
            raise LockStopped(spec.key)
        if not res.ok:
            why = "timed out" if res.timed_out else (res.error or f"exit code {res.exit_code}")
            raise EnvironmentFailure(
                f"creating the environment failed ({why})", res.exit_code, command
            )
        return mark_ready(spec, cache_dir)


def repo_nox_command(
    gate: PlannedGate, shadow_path: Path, cache_dir: Path
) -> tuple[list[str], Path]:
    """``python -m nox -f <shadow>/noxfile.py -s NAME --envdir <cache>`` and its lock file.

    The envdir is keyed by the shadow location, so a shadow slot reuses its
    environments between runs (``-r``: nox reinstalls only what changed).
    """
    assert gate.nox is not None
    slot = hashlib.sha256(str(shadow_path.resolve()).encode()).hexdigest()[:16]
    envdir = cache_dir / "noxfile" / slot
    argv = [
        sys.executable,
        "-m",
        "nox",
        "-f",
        str(shadow_path / "noxfile.py"),
        "-s",
        gate.nox,
        "--envdir",
        str(envdir),
        "--reuse-existing-virtualenvs",
        "--no-color",
    ]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in gate.nox)
    return argv, envdir / f"{safe}.lock"
