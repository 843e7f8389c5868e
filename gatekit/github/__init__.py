"""gatekit on GitHub: the Actions step (``check --ci``), workflow commands, the job
summary and step outputs, commit statuses and check runs through the REST API."""

from __future__ import annotations

from collections.abc import Mapping


def is_actions(environ: Mapping[str, str]) -> bool:
    """Whether gatekit runs as a step of a GitHub Actions job."""
    return environ.get("GITHUB_ACTIONS", "").strip().lower() == "true"
