"""``gatekit check --ci``: the run as the Actions runner shows it.

During the run: ``::add-mask::`` for every secret value the secrets scan found,
before any gate prints a line (gatekit's own masking writes ``***`` already; this
also covers anything else the runner logs), and phase lines only. After it: each
gate's log in a ``::group::``, the annotations (10 per level, the rest counted in
one notice and listed in the summary), the job summary and the step outputs.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gatekit.github import workflow

if TYPE_CHECKING:
    from gatekit.git.candidate import Candidate
    from gatekit.plan.model import GatePlan
    from gatekit.results import GateResult, RunResult

MAX_GROUP_BYTES = 512 * 1024  # of one gate's log inside its ::group:: (the file has it all)


class CiReporter:
    """Phase changes as ``[gate] == phase`` lines; the gate's output comes in groups after."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self._lock = threading.Lock()

    def event(self, gate_id: str, phase: str, line: str | None = None) -> None:
        if line is not None or phase in ("queued", "cache", "collecting"):
            return
        with self._lock:
            self.stream.write(f"[{gate_id}] == {phase}\n")
            self.stream.flush()

    def final(self, results: Sequence[GateResult]) -> None:
        from gatekit.run.output import final_table

        with self._lock:
            self.stream.write(final_table(results))
            self.stream.flush()


class CiObserver:
    """Hooks into the check: masks before output, pending statuses before gates run."""

    def __init__(self, stream: TextIO, on_planned: object = None) -> None:
        self.stream = stream
        self._on_planned = on_planned

    def secrets(self, values: Sequence[str]) -> None:
        lines = workflow.mask_lines(values)
        if lines:
            self.stream.write("".join(line + "\n" for line in lines))
            self.stream.flush()

    def planned(self, plan: GatePlan, candidate: Candidate) -> None:
        if callable(self._on_planned):
            self._on_planned(plan, candidate)


def log_groups(result: RunResult, run_dir: Path | None) -> list[str]:
    lines: list[str] = []
    if run_dir is None:
        return lines
    for g in result.gates:
        if not g.log:
            continue
        path = run_dir / g.log
        try:
            data = path.read_bytes()
        except OSError:
            continue
        cut = len(data) > MAX_GROUP_BYTES
        text = data[-MAX_GROUP_BYTES:].decode("utf-8", "replace")
        lines.append(workflow.group(f"gatekit: {g.id} ({g.outcome.value})"))
        if cut:
            lines.append(f"... (first {len(data) - MAX_GROUP_BYTES} bytes left out: {path})")
        # a log line that looks like a workflow command must not be run as one
        lines.extend(_neutral(line) for line in text.splitlines())
        lines.append(workflow.endgroup())
    return lines


def _neutral(line: str) -> str:
    return " " + line if line.lstrip().startswith("::") else line


def publish(
    result: RunResult,
    run_dir: Path | None,
    environ: Mapping[str, str],
    stream: TextIO,
    *,
    groups: bool = True,
    title: str = "gatekit",
) -> None:
    """Groups, annotations, summary and outputs of a finished (or collected) run."""
    from gatekit.github.annotate import annotations_for
    from gatekit.github.outputs import append_summary, write_outputs
    from gatekit.reports.summary import build_summary

    lines = log_groups(result, run_dir) if groups else []
    annotations = annotations_for(result)
    _, left_out = workflow.split_annotations(annotations)
    lines.extend(workflow.annotation_lines(annotations))
    stream.write("".join(line + "\n" for line in lines))
    stream.flush()
    append_summary(environ, build_summary(result, run_dir, left_out, title=title))
    write_outputs(
        environ,
        {
            "verdict": str(result.verdict),
            "plan-id": result.plan_id,
            "checkpoint": result.checkpoint or "",
        },
    )
