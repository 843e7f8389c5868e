"""Helpers for the GitHub tests: recorded event payloads, a workflow-run environment,
and the runner's own reading of workflow commands and step outputs.

``parse_command`` follows the Actions runner (actions/runner, ``ActionCommand``):
``::name k=v,k=v::data``, properties split on ``,`` and the first ``=``, then
property values unescaped (``%3A`` ``%2C`` ``%0D`` ``%0A`` ``%25``) and data
unescaped (``%0D`` ``%0A`` ``%25``), ``%25`` last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from conftest import ROOT

PAYLOADS = ROOT / "tests" / "data" / "github"


def payload(tmp: Path, name: str, **subs: str) -> Path:
    """A recorded payload (tests/data/github/NAME.json) with ``__KEY__`` placeholders filled."""
    text = (PAYLOADS / f"{name}.json").read_text(encoding="utf-8")
    for key, value in subs.items():
        text = text.replace(f"__{key.upper()}__", value)
    out = tmp / f"event-{name}.json"
    out.write_text(text, encoding="utf-8")
    json.loads(text)
    return out


def ci_env(
    tmp: Path, event: str, event_path: Path, sha: str = "", ref: str = "main"
) -> dict[str, str]:
    (tmp / "gh").mkdir(exist_ok=True)
    return {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_OUTPUT": str(tmp / "gh" / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "gh" / "summary.md"),
        "GITHUB_SHA": sha,
        "GITHUB_REF_NAME": ref,
        "GITHUB_REPOSITORY": "octo-org/widgets",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "7000001",
    }


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


@dataclass(frozen=True)
class Command:
    name: str
    props: dict[str, str]
    data: str


def parse_command(line: str) -> Command | None:
    """One line as the runner reads it, or None when it is no workflow command."""
    if not line.startswith("::"):
        return None
    end = line.find("::", 2)
    if end < 0:
        return None
    head, data = line[2:end], line[end + 2 :]
    name, _, rest = head.partition(" ")
    props: dict[str, str] = {}
    for pair in rest.split(",") if rest else []:
        key, sep, value = pair.partition("=")
        if sep:
            props[key] = unescape_property(value)
    return Command(name, props, unescape_data(data))


def commands(text: str) -> list[Command]:
    return [c for c in map(parse_command, text.splitlines()) if c is not None]


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it: ``k=v`` lines and ``k<<DELIM`` blocks."""
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[key] = "\n".join(lines[i + 1 : j])
            i = j + 1
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        i += 1
    return out
