"""Helpers for the operator tests: gates that report their pids, waiting on run files."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
from conftest import ROOT, Repo

SCHEMAS = ROOT / "schemas"


def schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return data


def validate(doc: Any, name: str) -> None:
    jsonschema.validate(doc, schema(name))


def pid_gate_code(pidfile: Path, seconds: float, *, child: bool = False, quiet: bool = True) -> str:
    """Python for a gate that writes its pid (and a child's, in its group) then sleeps."""
    lines = ["import os, subprocess, sys, time"]
    if child:
        lines.append("c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])")
        lines.append("pids = f'{os.getpid()} {c.pid}'")
    else:
        lines.append("pids = str(os.getpid())")
    # written whole, then renamed into place: a waiter never reads an empty file
    lines.append(f"open({str(pidfile) + '.tmp'!r}, 'w').write(pids)")
    lines.append(f"os.replace({str(pidfile) + '.tmp'!r}, {str(pidfile)!r})")
    if not quiet:
        lines.append("print('started', flush=True)")
    lines.append(f"time.sleep({seconds})")
    return "\n".join(lines)


def wait_for(what: str, ready: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def pids_in(pidfile: Path) -> list[int]:
    return [int(x) for x in pidfile.read_text().split()]


def alive(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def start_check(
    repo: Repo, *args: str, env: dict[str, str] | None = None, out: Path | None = None
) -> subprocess.Popen[bytes]:
    """``gatekit check`` in the background; stdout into ``out`` (stderr ``out.err``) if given."""
    full = dict(os.environ)
    full.update(env or {})
    argv = [sys.executable, "-m", "gatekit", "check", "--plain", *args]
    if out is None:
        p = subprocess.Popen(
            argv, cwd=repo.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full
        )
    else:
        with out.open("wb") as so, out.with_suffix(".err").open("wb") as se:
            p = subprocess.Popen(argv, cwd=repo.path, stdout=so, stderr=se, env=full)
    STARTED.append(p)
    return p


STARTED: list[subprocess.Popen[bytes]] = []


def reap_started() -> None:
    """After a test: a check it left running (a failed assertion skipped its wait) is
    resumed, asked to stop (it stops its gates), then killed; never left to a later test."""
    while STARTED:
        p = STARTED.pop()
        if p.poll() is not None:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGCONT)
            p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=30)


def status_json(repo: Repo, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = repo.gatekit("status", "--json", *args, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return proc, doc


def explain_json(repo: Repo, *args: str) -> dict[str, Any]:
    proc = repo.gatekit("explain", "--json", *args, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    validate(doc, "explain.schema.json")
    return doc


def gate_in(doc: dict[str, Any], gate: str) -> dict[str, Any]:
    for g in doc["gates"]:
        if g["gate"] == gate:
            return dict(g)
    raise AssertionError(f"no gate {gate} in {doc}")


def runs_dir(repo: Repo) -> Path:
    return repo.path / ".git" / "gatekit" / "runs"
