"""Files shipped with gatekit: policies and schemas.

In a wheel they live in ``gatekit/_data``; in a source checkout (editable
install, tests) they are the repository's top-level ``policies/`` and
``schemas/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def policies_dir() -> Path:
    return data_dir("policies")


def schemas_dir() -> Path:
    return data_dir("schemas")


def shipped_policies() -> tuple[str, ...]:
    d = policies_dir()
    if not d.is_dir():
        return ()
    return tuple(sorted(p.stem for p in d.glob("*.yaml")))
