"""What the server imports and builds once, so that a forked worker starts warm.

Only code and models: nothing that depends on the environment, the working
directory or a repository (those would be the server's, not the client's).
Import failures are reported, not fatal: the worker imports lazily as usual.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from types import ModuleType

# Third-party modules gatekit imports lazily on the paths of `gatekit check`.
THIRD_PARTY = (
    "pygit2",
    "pygit2.enums",
    "pygit2.ffi",
    "pygit2.transaction",
    "pydantic",
    "yaml",
    "importlib.metadata",
    "detect_secrets.core.baseline",
    "detect_secrets.core.scan",
    "detect_secrets.core.secrets_collection",
    "detect_secrets.settings",
)
# gatekit modules not needed by a check (or that must not run in the server).
SKIP = ("gatekit.__main__", "gatekit.daemon", "gatekit.schemagen")


def preload() -> tuple[list[str], float]:
    """Import and build everything; returns (failures for the log, seconds taken)."""
    started = time.monotonic()
    failures: list[str] = []
    modules: list[ModuleType] = []
    from gatekit.git import libgit2

    libgit2.load()  # pygit2 as an in-process check imports it
    for name in THIRD_PARTY:
        _import(name, failures)
    import gatekit

    for info in pkgutil.walk_packages(gatekit.__path__, "gatekit."):
        if info.name.startswith(SKIP):
            continue
        module = _import(info.name, failures)
        if module is not None:
            modules.append(module)
    _build_models(modules, failures)
    _make_dataclasses(modules, failures)
    try:
        # versions of the loaded packages (importlib.metadata, ~5 ms a check): they are the
        # server's own imports, and a changed installation makes the server stale
        from gatekit.cache import environment_fingerprint

        environment_fingerprint()
    except Exception as exc:
        failures.append(f"gatekit.cache.environment_fingerprint: {exc}")
    try:
        from gatekit.precommit.chosenmemo import identify_version

        identify_version()  # the kept choices of hook files are stamped with it
    except Exception as exc:
        failures.append(f"gatekit.precommit.chosenmemo.identify_version: {exc}")
    try:
        from gatekit.plan.cache import _code_stamp

        _code_stamp()  # stats the planning code (~1 ms a check); the server's sources are fixed
    except Exception as exc:
        failures.append(f"gatekit.plan.cache._code_stamp: {exc}")
    try:
        from gatekit.run.noxenv import choose_backend

        choose_backend()  # probes `uv --version` (~10 ms a check) once, in the server
    except Exception as exc:
        failures.append(f"gatekit.run.noxenv.choose_backend: {exc}")
    try:
        from gatekit.cli import build_parser

        build_parser()
        build_parser("check")  # what workers use: built once here, reused after fork
        # a forked worker starts with the server's regex cache: fill it with what a check
        # compiles on its way (argparse's patterns, chain names)
        build_parser("check").parse_args(["check", "--staged", "--no-cache"])
        from gatekit.record.checkpoints import sanitize_chain

        sanitize_chain("Warm/Up")
    except Exception as exc:  # a broken command module: its own invocation will say so
        failures.append(f"gatekit.cli.build_parser: {exc}")
    return failures, time.monotonic() - started


def _import(name: str, failures: list[str]) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception as exc:  # ImportError, or an error of the module itself
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
        return None


def _build_models(modules: list[ModuleType], failures: list[str]) -> None:
    """Complete every pydantic model defined in gatekit (validators and serializers)."""
    from pydantic import BaseModel

    seen: set[type[BaseModel]] = set()
    for module in modules:
        for value in list(vars(module).values()):
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__.startswith("gatekit.")
                and value not in seen
            ):
                seen.add(value)
                try:
                    if not value.__pydantic_complete__:
                        value.model_rebuild()
                    # Touch both: a deferred model builds them on first access.
                    _ = value.__pydantic_validator__, value.__pydantic_serializer__
                except Exception as exc:
                    failures.append(f"{value.__module__}.{value.__qualname__}: {exc}")


def _make_dataclasses(modules: list[ModuleType], failures: list[str]) -> None:
    """Make gatekit's lazy dataclasses (:mod:`gatekit.lazyclass`) here, once: a worker
    would make those its check instantiates, again at every check."""
    from gatekit import lazyclass

    for module in modules:
        for value in list(vars(module).values()):
            if lazyclass.is_lazy(value) and value.__module__ == module.__name__:
                try:
                    lazyclass.realize(value)
                except Exception as exc:
                    failures.append(f"{value.__module__}.{value.__qualname__}: {exc}")
