"""What gatekit check is asked to do, and what it reports: the types every stage shares.

The stages of :mod:`gatekit.check` import this module and nothing above them.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gatekit.git.candidate import Candidate, CandidateSpec
    from gatekit.plan.model import GatePlan
    from gatekit.results import RunResult


class CheckObserver(Protocol):
    """Told what the check is about to do (CI reporting: masks, pending statuses)."""

    def planned(self, plan: GatePlan, candidate: Candidate) -> None:
        """The plan and candidate, before any gate runs."""

    def secrets(self, values: Sequence[str]) -> None:
        """Secret values found in the candidate, before any gate prints a line."""


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
    requested_skip: tuple[str, ...] = ()  # GATEKIT_SKIP: skipped by request, for one run
    shard: tuple[int, int] | None = None  # (K, N) of --shard K/N
    shard_gates: tuple[str, ...] | None = None  # the shard's gates as the matrix lists them
    observer: CheckObserver | None = None


@dataclass
class CheckReport:
    result: RunResult
    plan: GatePlan
    run_dir: Path
    exit_code: int
    messages: list[str] = field(default_factory=list)
