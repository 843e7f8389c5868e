"""A snapshot of a gate at a failure, timeout, stop or crash: ``forensics/<gate>/<time>/``.

    processes.json   the gate's processes: pid, ppid, pgid, state, command line,
                     CPU seconds, RSS bytes, open files (where readable)
    command.json     the failing command, its exit code, the reason
    environment.json the names of the gate's environment; values of secret-looking
                     names and of known secret values are masked
    log-tail.txt     the last lines of the gate's log

Taken before a process is killed when gatekit kills it (stop, watchdog, timeout,
crash recovery), so the tree shows what was running; after a failure the
processes are gone and ``processes.json`` is empty.
"""

from __future__ import annotations

import json
import os
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gatekit.operator import procs

TAIL = 100
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH", re.I)
MASK = "***"


def process_info(pid: int) -> dict[str, Any] | None:
    st = procs.stat(pid)
    if st is None:
        return None
    info: dict[str, Any] = {
        "pid": st.pid,
        "ppid": st.ppid,
        "pgid": st.pgid,
        "state": st.state,
        "comm": st.comm,
        "cmdline": procs.cmdline(pid),
        "cpu_seconds": round(st.cpu_ticks / _ticks(), 2),
        "rss_bytes": _rss(pid),
    }
    info["open_files"] = _open_files(pid)
    return info


def _ticks() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError):
        return 100


def _rss(pid: int) -> int | None:
    try:
        pages = int((procs.PROC / str(pid) / "statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _open_files(pid: int) -> list[str] | None:
    fd_dir = procs.PROC / str(pid) / "fd"
    try:
        fds = sorted(os.listdir(fd_dir), key=int)
    except OSError:
        return None  # not readable (another user's process)
    out = []
    for fd in fds:
        try:
            out.append(f"{fd} -> {os.readlink(fd_dir / fd)}")
        except OSError:
            continue
    return out


def tree_of(pgid: int | None, extra: Sequence[int] = ()) -> list[int]:
    roots = list(extra)
    if pgid:
        roots += procs.group_members(pgid)
    return procs.descendants(sorted(set(roots))) if roots else []


def masked_env(env: Mapping[str, str], mask: Callable[[str], str] | None) -> dict[str, str]:
    out = {}
    for name in sorted(env):
        value = env[name]
        if _SECRET_NAME.search(name):
            value = MASK
        elif mask is not None:
            value = mask(value)
        out[name] = value
    return out


def env_of(pid: int | None) -> dict[str, str]:
    if not pid:
        return {}
    try:
        raw = (procs.PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    env = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep:
            env[name] = value
    return env


def tail(path: Path, count: int = TAIL) -> list[str]:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            return list(deque((ln.rstrip("\n") for ln in fh), maxlen=count))
    except OSError:
        return []


def snapshot(
    run_dir: Path,
    gate_id: str,
    *,
    why: str,
    pgid: int | None = None,
    pids: Sequence[int] = (),
    command: str | None = None,
    exit_code: int | None = None,
    reason: str = "",
    env: Mapping[str, str] | None = None,
    mask: Callable[[str], str] | None = None,
) -> Path:
    """Write one snapshot; returns its directory (relative paths go in runbooks)."""
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    out = run_dir / "forensics" / gate_id / stamp
    out.mkdir(parents=True, exist_ok=True)
    tree = [info for pid in tree_of(pgid, list(pids)) if (info := process_info(pid))]
    if env is None:
        env = env_of(pgid) or (env_of(tree[0]["pid"]) if tree else {})
    if mask is not None:
        for info in tree:
            info["cmdline"] = [mask(a) for a in info["cmdline"]]
    _dump(out / "processes.json", {"why": why, "pgid": pgid, "processes": tree})
    _dump(
        out / "command.json",
        {
            "why": why,
            "command": mask(command) if mask and command else command,
            "exit_code": exit_code,
            "reason": mask(reason) if mask else reason,
        },
    )
    _dump(out / "environment.json", masked_env(env, mask))
    lines = tail(run_dir / "logs" / f"{gate_id}.log")
    (out / "log-tail.txt").write_text("\n".join(lines) + ("\n" if lines else ""), "utf-8")
    return out


def _dump(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def latest(run_dir: Path, gate_id: str) -> str | None:
    """The newest snapshot of a gate, relative to the run directory."""
    base = run_dir / "forensics" / gate_id
    try:
        stamps = sorted(os.listdir(base))
    except OSError:
        return None
    return f"forensics/{gate_id}/{stamps[-1]}" if stamps else None
