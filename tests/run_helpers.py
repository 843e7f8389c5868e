"""Helpers for the runner tests: plans built directly, a tmp dir as the shadow."""

from __future__ import annotations

import io
import json
import os
import shlex
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gatekit.config.models import Event, GateType, SessionSpec
from gatekit.plan.model import (
    Decision,
    GateLimits,
    GatePlan,
    PlanContext,
    PlannedGate,
    RetryPolicy,
)
from gatekit.results import GateResult
from gatekit.run.execute import GateHooks, RunOptions, execute_plan
from gatekit.run.output import PlainReporter

PY = shlex.quote(sys.executable)


def py(code: str) -> str:
    """A gate command running ``code`` with the test interpreter (no shell)."""
    return f"{PY} -c {shlex.quote(code)}"


class TmpShadow:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1


def retries(
    transient: int = 0,
    flaky: int = 0,
    exit_codes: Sequence[int] = (),
    patterns: Sequence[str] = (),
    backoff: float = 0.01,
) -> RetryPolicy:
    return RetryPolicy(
        transient=transient,
        flaky=flaky,
        exit_codes=tuple(exit_codes),
        patterns=tuple(patterns),
        backoff=backoff,
    )


def gate(
    gid: str,
    *run: str,
    needs: Sequence[str] = (),
    timeout: float = 30.0,
    retry: RetryPolicy | None = None,
    env: dict[str, str] | None = None,
    pass_env: Sequence[str] = (),
    pool: str | None = None,
    network: bool = True,
    fix: bool = False,
    decision: Decision = Decision.RUN,
    reason: str = "always",
    instructions: str | None = None,
    deps: Sequence[str] = (),
    python: str | None = None,
    nox: str | None = None,
    builtin: str | None = None,
    required: bool = True,
    cache: bool = False,
    junit: Sequence[str] = (),
    limits: GateLimits | None = None,
) -> PlannedGate:
    runner: Any = (
        "nox"
        if nox
        else "builtin"
        if builtin
        else "manual"
        if decision is Decision.MANUAL and not run
        else "session"
    )
    session = SessionSpec(python=python, deps=list(deps), run=list(run)) if run else None
    return PlannedGate(
        id=gid,
        type=GateType.MANUAL if decision is Decision.MANUAL else GateType.AUTO,
        decision=decision,
        reason=reason,
        required=required,
        needs=tuple(needs),
        paths=None,
        runner=runner,
        session=session,
        nox=nox,
        builtin=builtin,
        instructions=instructions,
        env=env or {},
        pass_env=tuple(pass_env),
        pool=pool,
        timeout=timeout,
        retries=retry or retries(),
        network=network,
        fix=fix,
        cache=cache,
        junit=tuple(junit),
        limits=limits or GateLimits(),
    )


def plan(*gates: PlannedGate) -> GatePlan:
    order: list[str] = []
    byid = {g.id: g for g in gates}

    def visit(gid: str) -> None:
        if gid in order:
            return
        for n in byid[gid].needs:
            visit(n)
        order.append(gid)

    for g in gates:
        visit(g.id)
    return GatePlan.seal(
        policies=(), context=PlanContext(event=Event.MANUAL), order=tuple(order), gates=tuple(gates)
    )


def run(
    p: GatePlan,
    tmp: Path,
    *,
    shadow: TmpShadow | None = None,
    hooks: GateHooks | None = None,
    environ: dict[str, str] | None = None,
    stream: io.StringIO | None = None,
    **options: Any,
) -> tuple[dict[str, GateResult], Path]:
    shadow = shadow or TmpShadow(_mkdir(tmp / "shadow"))
    run_dir = tmp / "run"
    options.setdefault("env_cache_dir", tmp / "envs")
    options.setdefault("grace", 1.0)
    opts = RunOptions(environ=environ, **options)
    results = execute_plan(p, shadow, run_dir, opts, PlainReporter(stream or io.StringIO()), hooks)
    assert [r.id for r in results] == list(p.order)
    return {r.id: r for r in results}, run_dir


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]


def process_gone(pid: int) -> bool:
    """Dead: no such process, or a zombie (an init that never reaps keeps those)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return stat[stat.rfind(")") + 2] in "ZX"


def tiny_wheel(dest: Path, name: str = "gatekit_tinydep", version: str = "0.1") -> Path:
    """A pure-Python wheel built by hand: installs offline, needs no build backend."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: gatekit-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{k},,\n" for k in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for k, v in files.items():
            zf.writestr(k, v)
        zf.writestr(f"{info}/RECORD", record)
    return path
