"""``conflict-markers``: merge-conflict markers left in text files."""

from __future__ import annotations

import re

from gatekit.builtins import BuiltinContext, BuiltinOutcome
from gatekit.builtins._common import run_per_file
from gatekit.builtins._files import is_binary
from gatekit.results import Finding

NAME = "conflict-markers"
DESCRIPTION = "Merge-conflict marker left in a file"
OPTIONS = ("exclude",)

# Opening/closing markers count alone; the middle ones (``=======``, the diff3
# ``|||||||``) only in a file that also has an opening or closing marker, so that
# an reStructuredText underline of seven '=' is not a conflict.
_EDGE = re.compile(rb"^(?:<{7}|>{7})(?: |\r?$)", re.MULTILINE)
_MIDDLE = re.compile(rb"^(?:={7}|\|{7})(?: |\r?$)", re.MULTILINE)


def check(path: str, data: bytes) -> list[Finding]:
    if is_binary(data):
        return []
    edges = [m.start() for m in _EDGE.finditer(data)]
    if not edges:
        return []
    offsets = sorted(edges + [m.start() for m in _MIDDLE.finditer(data)])
    findings: list[Finding] = []
    line = 1
    last = 0
    for offset in offsets:
        line += data.count(b"\n", last, offset)
        last = offset
        marker = data[offset : offset + 7].decode("ascii")
        findings.append(
            Finding(rule=NAME, path=path, line=line, message=f"merge-conflict marker {marker!r}")
        )
    return findings


def run(ctx: BuiltinContext) -> BuiltinOutcome:
    return run_per_file(NAME, ctx, check)
