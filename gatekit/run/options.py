"""What the caller hands the runner: options, hooks into other areas, the shadow."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Protocol

from gatekit.lazyclass import dataclass
from gatekit.plan.model import PlannedGate
from gatekit.results import Finding, GateResult, JUnitSummary, KpiResult
from gatekit.run.envcache import default_cache_dir


class ShadowLike(Protocol):
    """A worktree holding the candidate tree (area A's Shadow fits)."""

    @property
    def path(self) -> Path: ...

    def reset(self) -> None: ...


@dataclass(frozen=True)
class RunOptions:
    jobs: int | None = None  # None: os.cpu_count()
    fail_fast: bool = False
    only: tuple[str, ...] = ()  # --gate (their needs run too)
    skip: tuple[str, ...] = ()  # --skip
    env_cache_dir: Path = field(default_factory=default_cache_dir)
    grace: float = 5.0  # SIGTERM -> SIGKILL
    env_timeout: float = 900.0  # creating one environment
    environ: Mapping[str, str] | None = None  # the caller's environment; None: os.environ
    # stop what a gate's command left running outside its process group (see run.escapes);
    # makes this process a child subreaper, so only a command-line run asks for it
    sweep_escapes: bool = False


# run_builtin(gate, shadow_path) -> (passed, findings, log_text)
BuiltinFn = Callable[[PlannedGate, Path], tuple[bool, Sequence[Finding], str]]
# lookup_cache(gate) -> a cached GateResult, or None to run the gate
CacheFn = Callable[[PlannedGate], GateResult | None]
# collect(gate, shadow_path) -> (JUnit summary or None, KPI results)
CollectFn = Callable[[PlannedGate, Path], tuple[JUnitSummary | None, Sequence[KpiResult]]]


@dataclass(frozen=True)
class GateHooks:
    """Plug-ins from other areas; each is optional.

    Without ``run_builtin`` a builtin gate ends in ``error``; without
    ``lookup_cache`` nothing is cached; without ``collect`` no JUnit/KPI.
    """

    run_builtin: BuiltinFn | None = None
    lookup_cache: CacheFn | None = None
    collect: CollectFn | None = None
    # mask(text) -> text with known secret values replaced; applied to every
    # log line, status line and reporter line before it is written or shown
    mask: Callable[[str], str] | None = None
    # pre-commit gates: the candidate's hooks (gatekit.precommit.gatehook.HookSource)
    pre_commit: object | None = None
