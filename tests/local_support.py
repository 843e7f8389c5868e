"""Helpers for tests whose gates install local packages (tests/test_localdeps*.py,
tests/test_real_projects.py): small real packages, one uv cache per test run."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from conftest import Repo


def share_uv_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """One uv (and pip) cache for the whole run (all xdist workers): the index is read once.

    Every test has its own HOME, so gatekit's environment cache stays per test.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if base.name.startswith("popen-gw") else base
    # gatekit's environment cache follows XDG_CACHE_HOME when set: keep it in this test's HOME
    monkeypatch.setenv("XDG_CACHE_HOME", str(Path(os.environ["HOME"]) / ".cache"))
    cache = root / "uv-cache"
    cache.mkdir(exist_ok=True)
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    (root / "pip-cache").mkdir(exist_ok=True)
    monkeypatch.setenv("PIP_CACHE_DIR", str(root / "pip-cache"))
    return cache


def hatch_package(
    repo: Repo,
    where: str,
    name: str,
    *,
    value: str,
    dependencies: tuple[str, ...] = (),
    extras: dict[str, list[str]] | None = None,
    script: bool = False,
) -> None:
    """A src-layout package built by hatchling, whose module says VALUE and where it lives."""
    prefix = f"{where}/" if where else ""
    deps = ", ".join(f'"{d}"' for d in dependencies)
    text = textwrap.dedent(
        f"""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "1.0"
        dependencies = [{deps}]
        """
    )
    if extras:
        text += "\n[project.optional-dependencies]\n"
        for extra, reqs in extras.items():
            text += f"{extra} = [{', '.join(repr(r).replace(chr(39), chr(34)) for r in reqs)}]\n"
    if script:
        text += f'\n[project.scripts]\n{name}-where = "{name}:where"\n'
    repo.write(f"{prefix}pyproject.toml", text)
    repo.write(
        f"{prefix}src/{name}/__init__.py",
        f"VALUE = {value!r}\n\n\ndef where():\n    print('WHERE', __file__, VALUE)\n",
    )
