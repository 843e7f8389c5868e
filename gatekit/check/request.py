"""What gatekit check is asked to do, and what it reports: the types every stage shares.

The stages of :mod:`gatekit.check` import this module and nothing above them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekit.git.candidate import CandidateSpec
    from gatekit.plan.model import GatePlan
    from gatekit.results import RunResult


@dataclass(frozen=True)
class CheckRequest:
    config_path: str | None = None
    event: str = "manual"
    branch: str | None = None
    spec: CandidateSpec | None = None  # None: the event's default candidate
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    jobs: int | None = None
    fail_fast: bool = False
    use_cache: bool = True
    chain: str | None = None
    record: bool = True
    promote: str | None = None
    apply_fixes: bool = False
    junit_xml: Path | None = None
    sarif: Path | None = None
    all_paths: bool = False  # --all: every gate planned as if every path changed


@dataclass
class CheckReport:
    result: RunResult
    plan: GatePlan
    run_dir: Path
    exit_code: int
    messages: list[str] = field(default_factory=list)
