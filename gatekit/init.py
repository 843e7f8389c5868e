"""``gatekit init``: a validation.yaml for the repository in front of it.

Sources, first that applies: a ``.pre-commit-config.yaml`` (``extends: pre-commit``),
a ``noxfile.py`` (a ``nox:`` gate per session of ``nox --list --json``), the tools
``pyproject.toml`` configures (ruff, mypy, pytest, coverage). Always on top of the
default policy; every gate says in a comment where it came from.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from gatekit.errors import UsageError

HEADER = "# yaml-language-server: $schema=./schemas/validation.schema.json\n"
_BAD_ID = re.compile(r"[^A-Za-z0-9_.-]+")
# tool -> (the gate's deps, its command)
_TOOLS = {
    "ruff": (["ruff"], "ruff check ."),
    "mypy": (["mypy", "."], "mypy ."),
    "pytest": (["pytest", "."], "pytest -q"),
    "coverage": (["coverage", "pytest", "."], "coverage run -m pytest -q"),
}


def init_text(root: Path) -> str:
    """The file's text (it loads without error and plans what its source declares)."""
    head = HEADER + "version: 1\n"
    if (root / ".pre-commit-config.yaml").is_file():
        return (
            head + "# the default policy, then a gate per hook of .pre-commit-config.yaml\n"
            "# (gate id = hook id; override one by listing it under gates:)\n"
            "extends: [gatekit:default, pre-commit]\n"
        )
    head += "extends: gatekit:default\n"
    if (root / "noxfile.py").is_file():
        lines = ["gates:"]
        for name in nox_sessions(root):
            lines.append(f"  # from noxfile.py: nox session '{name}'")
            lines.append(f"  - {{id: {_gate_id(name)}, nox: {json.dumps(name)}}}")
        return head + ("\n".join(lines) + "\n" if len(lines) > 1 else "")
    tools = configured_tools(root)
    if not tools:
        return head
    lines = ["gates:"]
    for tool in tools:
        deps, run = _TOOLS[tool]
        lines.append(f"  # from pyproject.toml: [tool.{tool}]")
        lines.append(f"  - id: {tool}")
        lines.append(f"    session: {{deps: {json.dumps(deps)}, run: [{json.dumps(run)}]}}")
    return head + "\n".join(lines) + "\n"


def nox_sessions(root: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "--list", "--json", "-f", "noxfile.py"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        listed = json.loads(proc.stdout)
    except ValueError:
        raise UsageError(
            "cannot list the sessions of noxfile.py (nox --list --json failed)",
            tip=proc.stderr.strip()[-300:] or None,
        ) from None
    names = [str(s.get("session") or s.get("name")) for s in listed if isinstance(s, dict)]
    return list(dict.fromkeys(n for n in names if n and n != "None"))


def configured_tools(root: Path) -> list[str]:
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    tool = data.get("tool")
    return [name for name in _TOOLS if isinstance(tool, dict) and name in tool]


def _gate_id(name: str) -> str:
    cleaned = _BAD_ID.sub("-", name).strip("-.") or "session"
    return cleaned if cleaned[0].isalnum() else "s" + cleaned
