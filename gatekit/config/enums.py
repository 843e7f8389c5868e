"""The enumerations of validation.yaml that the plan carries (no pydantic: the plan
is read on every check)."""

from __future__ import annotations

import enum


class GateType(enum.StrEnum):
    AUTO = "auto"
    MANUAL = "manual"
    CONDITIONAL = "conditional"


class Event(enum.StrEnum):
    PRE_COMMIT = "pre-commit"
    PRE_PUSH = "pre-push"
    MANUAL = "manual"
    CI = "ci"
    PULL_REQUEST = "pull_request"
    MERGE = "merge"


__all__ = ["Event", "GateType"]
