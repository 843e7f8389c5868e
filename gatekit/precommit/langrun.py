"""Run one hook through pre-commit's own language implementation (``python -m`` this module).

For the languages gatekit does not run directly (node, golang, rust, ruby, docker,
conda, ...): a process in the gate's sandbox, in its view of the shadow, enters the
environment pre-commit built (``in_env``) and calls the language's ``run_hook`` with
the hook's files, exactly as ``pre-commit run`` does. The hook comes as a JSON file
(its files may be too many for one command line); the hook's output goes to stdout
and its exit code is this process's.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write_spec(path: Path, spec: dict[str, Any]) -> None:
    path.write_text(json.dumps(spec, sort_keys=True), encoding="utf-8")


def run(spec: dict[str, Any]) -> int:
    from pre_commit.all_languages import languages
    from pre_commit.prefix import Prefix

    language = languages[spec["language"]]
    prefix = Prefix(spec["prefix"] or os.getcwd())
    with language.in_env(prefix, spec["language_version"]):
        code, out = language.run_hook(
            prefix,
            spec["entry"],
            list(spec["args"]),
            list(spec["files"]),
            is_local=bool(spec["is_local"]),
            require_serial=bool(spec["require_serial"]),
            color=False,
        )
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m gatekit.precommit.langrun SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    return run(spec)


if __name__ == "__main__":
    raise SystemExit(main())
