"""``private-keys``: private key material (PEM, OpenSSH, PGP, PuTTY, OpenVPN) in text files.

Findings name the kind of key, never its content.
"""

from __future__ import annotations

import re

from gatekit.builtins import BuiltinContext, BuiltinOutcome
from gatekit.builtins._common import run_per_file
from gatekit.builtins._files import is_binary
from gatekit.results import Finding

NAME = "private-keys"
DESCRIPTION = "Private key committed to the repository"
OPTIONS = ("exclude",)

_KEY = re.compile(
    rb"BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?"
    rb"|(PuTTY-User-Key-File-\d)"
    rb"|BEGIN (OpenVPN Static key)"
)


def check(path: str, data: bytes) -> list[Finding]:
    if is_binary(data):
        return []
    findings: list[Finding] = []
    for match in _KEY.finditer(data):
        line = data.count(b"\n", 0, match.start()) + 1
        if match.group(2):
            kind = "PuTTY private key"
        elif match.group(3):
            kind = "OpenVPN static key"
        else:
            prefix = match.group(1).decode("ascii").strip()
            kind = f"{prefix} private key" if prefix else "private key"
        findings.append(Finding(rule=NAME, path=path, line=line, message=f"{kind} block"))
    return findings


def run(ctx: BuiltinContext) -> BuiltinOutcome:
    return run_per_file(NAME, ctx, check)
