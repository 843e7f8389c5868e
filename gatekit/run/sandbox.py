"""What a gate's processes see: an allowlisted environment, their own HOME and
TMPDIR, the shadow as cwd and, with ``network: false``, no network.

Nothing of the caller's environment passes unless it is on the allowlist or the
gate names it in ``pass_env``; the git location variables a calling hook sets
(GIT_DIR, GIT_INDEX_FILE, ...) never pass, even when named.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.git.gitproc import LOCATION_VARS
from gatekit.git.guard import GATE_EMAIL
from gatekit.lazyclass import dataclass
from gatekit.plan.model import PlannedGate
from gatekit.run import limits
from gatekit.run.cgroup import enter_argv as cgroup_enter_argv

if TYPE_CHECKING:
    from gatekit.run.isolation import GateView

ALLOWED = ("PATH", "LANG", "LC_ALL", "TERM", "TZ")
# Set by git for hooks; a gate that inherits them works on the wrong repository (nor
# does a ceiling of the caller's mean anything in the shadow).
GIT_LOCATION_VARS = frozenset({*LOCATION_VARS, "GIT_CEILING_DIRECTORIES"})
# Only for creating environments (pip/uv), never for the gate's commands.
INSTALLER_PREFIXES = ("PIP_", "UV_")
INSTALLER_VARS = (
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
)
NOT_ENFORCED = "network isolation not enforced"

_probe_lock = threading.Lock()
_probe_answer: bool | None = None
_unshare_path: str | None = None


@dataclass(frozen=True)
class Sandbox:
    """The prepared surroundings of one gate."""

    env: dict[str, str]
    cwd: Path
    home: Path
    tmp: Path
    isolate_network: bool  # commands are wrapped in ``unshare -rn``
    notes: tuple[str, ...] = ()
    view: GateView | None = None  # the gate's own copy-on-write view of the shadow

    def wrap(
        self,
        argv: Sequence[str],
        enter: Sequence[str] = (),
        rlimits: tuple[limits.Rlimit, ...] = (),
    ) -> list[str]:
        """The command line to start: ``argv`` in the gate's view of the shadow and inside
        the network namespace, as asked; moved first into the cgroups whose ``cgroup.procs``
        files ``enter`` names, before any namespace is made where the view cannot do it;
        under ``rlimits`` (the view's shell sets them, else ``prlimit``)."""
        if self.view is not None and enter and self.view.enters_cgroups():
            return self.view.wrap(argv, self.isolate_network, enter, rlimits)
        prefix = cgroup_enter_argv(enter) if enter else []
        if self.view is not None:
            return [*prefix, *self.view.wrap(argv, self.isolate_network, (), rlimits)]
        argv = [*limits.rlimit_argv(rlimits), *argv]
        if self.isolate_network:
            return [*prefix, _unshare_path or "unshare", "-rn", "--", *argv]
        return [*prefix, *argv]

    def with_path_first(self, bin_dir: Path, virtual_env: Path | None = None) -> Sandbox:
        env = dict(self.env)
        env["PATH"] = os.pathsep.join(p for p in (str(bin_dir), env.get("PATH", "")) if p)
        if virtual_env is not None:
            env["VIRTUAL_ENV"] = str(virtual_env)
        return replace(self, env=env)

    def missing_command(self, argv: Sequence[str]) -> str | None:
        """Why ``argv`` (not yet wrapped) cannot start, as OSError would say; None if it can.

        Behind the view's wrapper a missing tool would be sh's exit 127, a failure of the
        gate's own; without it, it is an error that the command cannot start."""
        if self.view is None or not argv:
            return None
        command = argv[0]
        if "/" in command:
            path = Path(command) if os.path.isabs(command) else self.cwd / command
            ok = path.is_file() and os.access(path, os.X_OK)
        else:
            ok = shutil.which(command, path=self.env.get("PATH", os.defpath)) is not None
        return None if ok else f"[Errno 2] No such file or directory: {command!r}"

    @property
    def network_isolated(self) -> bool | None:
        """True: enforced; False: asked for but not enforced; None: not asked for."""
        if self.isolate_network:
            return True
        return False if NOT_ENFORCED in self.notes else None


def gate_env(gate: PlannedGate, caller: Mapping[str, str], home: Path, tmp: Path) -> dict[str, str]:
    """The environment of a gate's commands, built from an allowlist."""
    env = {k: caller[k] for k in ALLOWED if k in caller}
    env.setdefault("PATH", os.defpath)
    for name in gate.pass_env:
        if name in caller and name not in GIT_LOCATION_VARS:
            env[name] = caller[name]
    # git run by a gate commits and logs ref updates as the gate: the guard's evidence
    # (gatekit.git.guard) that a change to the main repository was a gate's doing
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = f"gatekit gate {gate.id}"
        env[f"GIT_{role}_EMAIL"] = GATE_EMAIL
    env.update(gate.env)
    env["HOME"] = str(home)
    env["TMPDIR"] = str(tmp)
    env["PYTHONDONTWRITEBYTECODE"] = env.get("PYTHONDONTWRITEBYTECODE", "1")
    return env


def installer_env(base: Mapping[str, str], caller: Mapping[str, str]) -> dict[str, str]:
    """A gate's environment plus what pip/uv need to create an environment.

    The installers' caches stay the caller's, so packages already downloaded are
    reused (the gate's own HOME is empty).
    """
    env = dict(base)
    for key, value in caller.items():
        if key.startswith(INSTALLER_PREFIXES) or key in INSTALLER_VARS:
            env[key] = value
    cache_root = Path(
        caller.get("XDG_CACHE_HOME") or Path(caller.get("HOME", "~")).expanduser() / ".cache"
    )
    env.setdefault("UV_CACHE_DIR", str(cache_root / "uv"))
    env.setdefault("PIP_CACHE_DIR", str(cache_root / "pip"))
    return env


def prepare(
    gate: PlannedGate,
    shadow_path: Path,
    run_dir: Path,
    caller: Mapping[str, str] | None = None,
) -> Sandbox:
    """Create the gate's HOME and TMPDIR under the run dir and decide on the network."""
    caller = os.environ if caller is None else caller
    home = run_dir / "sandbox" / gate.id / "home"
    tmp = run_dir / "sandbox" / gate.id / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    env = gate_env(gate, caller, home, tmp)
    isolate = False
    notes: tuple[str, ...] = ()
    if not gate.network:
        isolate = network_namespaces_available()
        if not isolate:
            notes = (NOT_ENFORCED,)
    return Sandbox(env, shadow_path, home, tmp, isolate, notes)


def network_namespaces_available() -> bool:
    """Whether ``unshare -rn`` works here; probed once per process."""
    global _probe_answer
    with _probe_lock:
        if _probe_answer is None:
            _probe_answer = _probe()
        return _probe_answer


def _probe() -> bool:
    global _unshare_path
    unshare = shutil.which("unshare")
    true = shutil.which("true")
    if unshare is None or true is None:
        return False
    try:
        proc = subprocess.run(
            [unshare, "-rn", "--", true],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    if proc.returncode != 0:
        return False
    _unshare_path = unshare
    return True
