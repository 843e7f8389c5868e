"""Build a plan for a repository: load the config, gather the context, compile."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from gatekit.config.loader import LoadedConfig, load_config
from gatekit.lazyclass import dataclass
from gatekit.plan.compile import compile_plan, make_context
from gatekit.plan.model import GatePlan


@dataclass(frozen=True)
class PlanRequest:
    root: Path
    event: str = "manual"
    config_path: str | None = None
    branch: str | None = None
    changed: Sequence[str] | None = None
    all_paths: bool = False


def build_plan(
    request: PlanRequest, environ: Mapping[str, str] | None = None
) -> tuple[GatePlan, LoadedConfig]:
    loaded = load_config(request.root, request.config_path)
    context = make_context(
        loaded.config,
        request.event,
        request.branch,
        request.changed,
        os.environ if environ is None else environ,
        all_paths=request.all_paths,
    )
    return compile_plan(loaded, context), loaded
