"""The environment of a ``session:`` gate, local packages included.

Phases, each cached:
  1. ``install``: every local package of ``deps`` (``.``, ``./sub``, ``-e .``, the
     local lines of ``-r`` files) is built into a wheel once per tree OID; the
     wheel's metadata says what it needs from the index.
  2. ``environment``: the shared environment, keyed by python, backend, index
     deps, the content of the requirement/constraint files and the local
     packages' declarations (gatekit.run.noxenv).
  3. ``install``: each local package goes into its own overlay of that
     environment, once per (environment, tree OID) (gatekit.run.overlay).
A package that fails to build or install fails the gate in phase ``install``.
"""

from __future__ import annotations

import dataclasses
import shlex
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

from gatekit.lazyclass import dataclass
from gatekit.operator import runfile
from gatekit.plan.model import PlannedGate
from gatekit.results import Outcome
from gatekit.run import localbuild, localdeps, localgc, noxenv, overlay, sandbox
from gatekit.run.proc import run_process
from gatekit.run.retry import AttemptReport

if TYPE_CHECKING:
    from gatekit.run.gate import GateRunner


class InstallFailure(Exception):
    def __init__(self, reason: str, command: str | None = None, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.command = command
        self.exit_code = code


@dataclass(frozen=True)
class _Local:
    package: localdeps.LocalPackage
    source: Path
    oid: str
    wheel: localbuild.BuiltWheel


def prepare(
    runner: GateRunner, gate: PlannedGate, box: sandbox.Sandbox, log: IO[str], number: int
) -> tuple[sandbox.Sandbox, AttemptReport | None]:
    """The gate's sandbox inside its environment, or the report of a failed phase."""
    assert gate.session is not None
    t0 = time.monotonic()
    try:
        return _Prepare(runner, gate, box, log, number).run(), None
    except InstallFailure as exc:
        log.write(f"=== gatekit: install failed: {exc.reason} ===\n")
        log.flush()
        return box, AttemptReport(
            Outcome.FAILED,
            time.monotonic() - t0,
            exit_code=exc.exit_code,
            failure_class="deterministic",
            reason=exc.reason,
            command=exc.command,
            phase="install",
        )
    except noxenv.EnvironmentFailure as exc:
        return box, AttemptReport(
            Outcome.ERROR,
            time.monotonic() - t0,
            exit_code=exc.exit_code,
            failure_class="environment",
            reason=exc.message,
            command=exc.command,
        )
    except noxenv.LockStopped:
        return box, AttemptReport(
            Outcome.STOPPED,
            time.monotonic() - t0,
            failure_class="interrupted",
            reason="stopped: interrupted",
        )


class _Prepare:
    def __init__(
        self,
        runner: GateRunner,
        gate: PlannedGate,
        box: sandbox.Sandbox,
        log: IO[str],
        number: int,
    ) -> None:
        self.runner = runner
        self.gate = gate
        self.box = box
        self.log = log
        self.number = number
        self.cache = runner.options.env_cache_dir
        self.installer_env = sandbox.installer_env(box.env, runner.environ)
        # gates run with PYTHONDONTWRITEBYTECODE: compile once at install, not at every import
        self.installer_env.setdefault("UV_COMPILE_BYTECODE", "1")
        # what an install or a build starts carries the run's token, as a gate's command
        # does: crash recovery and `gatekit stop` find it even when it left the group
        self.installer_env[runfile.RUN_VAR] = f"{runner.run_dir.name}/{gate.id}"
        self.uv = noxenv.uv_binary()
        self._phase: str | None = None

    def run(self) -> sandbox.Sandbox:
        assert self.gate.session is not None
        session = self.gate.session
        resolved = self._resolve(tuple(session.deps))
        locals_ = [self._built(p) for p in resolved.local]
        names = frozenset(item.wheel.name for item in locals_)
        declared = _merge(locals_, names)
        spec = noxenv.EnvSpec(
            session.python,
            resolved.index,
            noxenv.choose_backend(),
            tuple((f.option, f.text) for f in resolved.files),
            declared,
        )
        ready = noxenv.ready_env(self.cache, spec.key)
        if ready is None:
            self._enter("environment", env=spec.key)
            ready = noxenv.create_env(
                spec,
                self.cache,
                self.installer_env,
                timeout=self.runner.options.env_timeout,
                grace=self.runner.options.grace,
                log=self.log,
                on_line=self._on_line,
                registry=self.runner.registry,
                on_start=lambda pid: self.runner.status.set_pid(self.gate.id, pid),
            )
        box = self.box.with_path_first(ready.bin_dir, ready.venv)
        if not locals_:
            return box
        dirs = [self._overlay(ready, spec.key, item) for item in locals_]
        return dataclasses.replace(box, env=overlay.env_for(dirs, box.env))

    # steps -------------------------------------------------------------
    def _resolve(self, deps: tuple[str, ...]) -> localdeps.ResolvedDeps:
        if not localdeps.needs_candidate(deps):
            return localdeps.ResolvedDeps(deps, (), (), ())
        try:
            return localdeps.resolve(deps, _reader(self.box.cwd))
        except localdeps.LocalDepsError as exc:
            raise InstallFailure(f"deps of the session: {exc}") from None

    def _built(self, package: localdeps.LocalPackage) -> _Local:
        source = self.box.cwd / package.path if package.path else self.box.cwd
        if not source.is_dir():
            raise InstallFailure(
                f"local package {package.shown}: no such directory in the candidate"
            )
        shadow = self.runner.shadow
        oid = localbuild.package_oid(shadow.path, package.path, getattr(shadow, "tree", None))
        python = self.gate.session.python if self.gate.session else None
        final = localbuild.wheel_dir(self.cache, oid, python)
        wheel = localbuild.built_wheel(final)
        if wheel is not None:
            localgc.touch(final / "ready")
        else:
            with noxenv.file_lock(final.with_suffix(".lock"), self.runner.registry.stopping):
                wheel = localbuild.built_wheel(final)
                if wheel is None:
                    self._enter("install")
                    tmp = _fresh(final.with_name(final.name + ".tmp"))
                    argv = localbuild.build_command(source, tmp, python, self.uv)
                    self._run(argv, source, f"local package {package.shown} did not build")
                    try:
                        wheel = localbuild.finish_build(tmp, final)
                    except (OSError, ValueError) as exc:
                        raise InstallFailure(f"local package {package.shown}: {exc}") from None
        return _Local(package, source, oid, wheel)

    def _overlay(self, ready: noxenv.ReadyEnv, key: str, item: _Local) -> Path:
        editable = item.package.editable
        final = overlay.overlay_dir(self.cache, key, item.oid, item.source if editable else None)
        if overlay.is_ready(final):
            localgc.touch(final / "ready")
            return final
        with noxenv.file_lock(final.with_suffix(".lock"), self.runner.registry.stopping):
            if not overlay.is_ready(final):
                self._enter("install")
                tmp = _fresh(final.with_name(final.name + ".tmp"))
                what = item.source if editable else item.wheel.path
                argv = overlay.install_command(
                    self.uv, ready.bin_dir / "python", tmp, what, editable=editable
                )
                self._run(argv, item.source, f"local package {item.package.shown} did not install")
                overlay.finish(tmp, final)
        return final

    # helpers -----------------------------------------------------------
    def _enter(self, phase: str, **fields: object) -> None:
        if self._phase != phase:
            self._phase = phase
            self.runner.phase(self.gate.id, phase, attempt=self.number, **fields)

    def _on_line(self, line: str) -> None:
        self.runner._line(self.gate.id, self._phase or "install", line, None)

    def _run(self, argv: list[str], cwd: Path, failed: str) -> None:
        """Build or install from ``cwd`` in the candidate: inside the gate's view of the
        shadow when it has one (the build's writes are the gate's, never the shadow's),
        with the network even when the gate has none (the index is needed)."""
        command = shlex.join(argv)
        self.log.write(f"$ {command}\n")
        self.log.flush()
        started = localbuild.clean_build(cwd, argv)
        if self.box.view is not None:
            started = self.box.view.wrap(started, False)
        res = run_process(
            started,
            cwd=cwd,
            env=self.installer_env,
            timeout=self.runner.options.env_timeout,
            grace=self.runner.options.grace,
            log=self.log,
            on_line=self._on_line,
            registry=self.runner.registry,
            on_start=lambda pid: self.runner.status.set_pid(self.gate.id, pid),
        )
        if res.stopped:
            raise noxenv.LockStopped(command)
        if not res.ok:
            why = "timed out" if res.timed_out else (res.error or f"exit code {res.exit_code}")
            raise InstallFailure(f"{failed} ({why})", command, res.exit_code)


def _merge(locals_: list[_Local], names: frozenset[str]) -> tuple[noxenv.LocalDeclared, ...]:
    """One declaration per package, extras asked for anywhere merged; other local ones skipped."""
    by_name: dict[str, tuple[localbuild.BuiltWheel, set[str]]] = {}
    for item in locals_:
        wheel, extras = by_name.setdefault(item.wheel.name, (item.wheel, set()))
        extras.update(item.package.extras)
    out = []
    for name in sorted(by_name):
        wheel, extras = by_name[name]
        requires = tuple(r for r in wheel.requires if localbuild.requirement_name(r) not in names)
        out.append(noxenv.LocalDeclared(name, requires, wheel.extras, tuple(sorted(extras))))
    return tuple(out)


def _reader(root: Path) -> localdeps.Reader:
    real_root = root.resolve()

    def read(rel: str) -> str | None:
        path = (root / rel).resolve()
        if not path.is_relative_to(real_root) or not path.is_file():
            return None
        return path.read_text(encoding="utf-8")

    return read


def _fresh(path: Path) -> Path:
    import shutil

    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path
