"""The phases a gate passes through before its outcome, in one place for the writer of the
run directory and every reader of it (status, watch, explain, recovery, the live page)."""

from __future__ import annotations

# cache: looking up its result; environment: building its env; install: the candidate's own
# packages into it; running: its commands; retry-wait: between attempts; collecting: reports
ACTIVE_PHASES = frozenset(
    {"cache", "environment", "install", "running", "retry-wait", "collecting"}
)
UNFINISHED_PHASES = ACTIVE_PHASES | {"queued"}
