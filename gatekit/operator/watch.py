"""``gatekit watch [GATE] [--run RUN]``: follow a run's output, ``[gate] `` per line,
until it ends; exit with the run's exit code. A finished run: its tail, then exit."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from gatekit.operator import forensics, rundir, runfile

POLL = 0.1
TAIL = 40


def log_of(run_dir: Path, gate: str | None) -> Path:
    return run_dir / "logs" / (f"{gate}.log" if gate else "all.log")


def _prefix(gate: str | None) -> Callable[[str], str]:
    return (lambda ln: f"[{gate}] {ln}") if gate else (lambda ln: ln)


def watch(run_dir: Path, gate: str | None, write: Callable[[str], None]) -> int:
    fmt = _prefix(gate)
    path = log_of(run_dir, gate)
    view = rundir.load(run_dir, with_gates=False)
    if view.state != "running":
        for line in forensics.tail(path, TAIL):
            write(fmt(line))
        return _end(run_dir, view.state, write)
    for line in forensics.tail(path, TAIL):
        write(fmt(line))
    offset = _size(path)
    buf = b""
    while True:
        state = runfile.state_of(runfile.read(run_dir), run_dir)
        data, offset = _read_from(path, offset)
        buf += data
        *lines, buf = buf.split(b"\n")
        for raw in lines:
            write(fmt(raw.decode("utf-8", "replace")))
        if state != "running":
            if buf:
                write(fmt(buf.decode("utf-8", "replace")))
            return _end(run_dir, state, write)
        time.sleep(POLL)


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _read_from(path: Path, offset: int) -> tuple[bytes, int]:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return b"", offset
    return data, offset + len(data)


def _end(run_dir: Path, state: str, write: Callable[[str], None]) -> int:
    doc = runfile.read(run_dir) or {}
    result = rundir.read_json(run_dir / "result.json") or {}
    code = doc.get("exit_code", result.get("exit_code"))
    if state == "crashed":
        from gatekit.operator.recover import recover_runs

        recover_runs(run_dir.parent.parent, report=False)
        write(f"gatekit: run {run_dir.name} crashed; see gatekit explain --run {run_dir.name}")
        return 1
    verdict = doc.get("verdict") or result.get("verdict")
    write(f"gatekit: run {run_dir.name} {state}" + (f": {verdict}" if verdict else ""))
    return int(code) if isinstance(code, int) else 1
