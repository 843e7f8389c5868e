"""Helpers for the end-to-end tests of ``gatekit check`` (tests/test_check_*.py).

Gates are written as JSON (valid YAML, no quoting traps) and their commands run
``sys.executable -c CODE``: no deps, so no network and no environment to build.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
from conftest import ROOT, Repo

PY = sys.executable
RESULT_SCHEMA: dict[str, Any] = json.loads(
    (ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8")
)


def py(code: str) -> str:
    """A gate command running ``code`` with the interpreter of the tests."""
    return f"{shlex.quote(PY)} -c {shlex.quote(code)}"


def session(code: str, **extra: Any) -> dict[str, Any]:
    """The body of a ``session:`` gate running one python snippet."""
    return {"session": {"run": [py(code)]}, **extra}


def gate(gid: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"id": gid, **session(code), **extra}


def write_config(repo: Repo, gates: list[dict[str, Any]], **top: Any) -> None:
    doc = {"version": 1, **top, "gates": gates}
    repo.write("validation.yaml", json.dumps(doc, indent=2) + "\n")


def check(
    repo: Repo, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return repo.gatekit("check", "--plain", *args, env=env, timeout=timeout)


def check_json(
    repo: Repo, *args: str, env: dict[str, str] | None = None, expect: int | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """``gatekit check --json``; the document is validated against schemas/result.schema.json."""
    proc = check(repo, "--json", *args, env=env)
    if expect is not None:
        assert proc.returncode == expect, explain(proc)
    try:
        doc = json.loads(proc.stdout)
    except ValueError as exc:
        raise AssertionError(f"no JSON document on stdout ({exc}):\n{explain(proc)}") from None
    jsonschema.validate(doc, RESULT_SCHEMA)
    return proc, doc


def outcomes(doc: dict[str, Any]) -> dict[str, str]:
    return {g["id"]: g["outcome"] for g in doc["gates"]}


def gate_of(doc: dict[str, Any], gid: str) -> dict[str, Any]:
    for g in doc["gates"]:
        if g["id"] == gid:
            return dict(g)
    raise AssertionError(f"no gate {gid!r} in {outcomes(doc)}")


def run_dir_of(proc: subprocess.CompletedProcess[str]) -> Path:
    for line in proc.stderr.splitlines():
        if line.startswith("gatekit: run directory "):
            return Path(line[len("gatekit: run directory ") :].strip())
    raise AssertionError(f"no run directory line:\n{explain(proc)}")


def gate_log(proc: subprocess.CompletedProcess[str], doc: dict[str, Any], gid: str) -> str:
    rel = gate_of(doc, gid)["log"]
    assert rel, f"gate {gid} has no log"
    return (run_dir_of(proc) / rel).read_text(encoding="utf-8", errors="replace")


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"


def user_refs(repo: Repo) -> dict[str, str]:
    """Every ref that is not gatekit's own, name -> target."""
    out = repo.git("for-each-ref", "--format=%(refname) %(objectname)")
    refs = dict(line.split(" ", 1) for line in out.splitlines())
    return {
        k: v for k, v in refs.items() if not k.startswith(("refs/gatekit/", "refs/notes/gatekit"))
    }


def stray_locks(repo: Repo) -> list[str]:
    """Lock files left under .git. ``gatekit/shadows/sN.lock`` are fcntl lock files that
    live as long as their shadow (held only while a check uses it): they count only
    when someone still holds them."""
    import fcntl
    import os

    dotgit = repo.path / ".git"
    stray = []
    for p in sorted(dotgit.rglob("*.lock")):
        rel = p.relative_to(dotgit)
        if rel.parts[:2] == ("gatekit", "shadows") and len(rel.parts) == 3:
            fd = os.open(p, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                continue
            except BlockingIOError:
                pass
            finally:
                os.close(fd)
        stray.append(str(rel))
    return stray


def user_state(path: Path) -> dict[str, object]:
    """shadow_support.fingerprint without gatekit's own notes ref (a check writes it on purpose)."""
    from shadow_support import fingerprint

    state = fingerprint(path)
    refs = state["refs"]
    assert isinstance(refs, list)
    state["refs"] = [r for r in refs if not r.startswith("refs/notes/gatekit ")]
    return state
