"""Importing pygit2 without libgit2 reading the system's whole CA bundle, and without
Python's :mod:`ssl`.

On import pygit2 hands libgit2 the TLS trust locations Python's :mod:`ssl` reports,
and OpenSSL parses the CA bundle file then and there: ~105 million instructions
(measured with callgrind: ``import pygit2`` 409 M, 304 M without the file), a sixth
of a whole ``gatekit check``. gatekit never talks to a remote through libgit2 (it
runs ``git`` for fetch and push), so the bundle is read for nothing.

When the system also has a certificate directory, :func:`load` imports pygit2 with
only that directory (OpenSSL looks certificates up there when it verifies, not
before): libgit2 could still verify a TLS peer. Without one, libgit2 gets both, as
pygit2 would give them. The environment is restored before :func:`load` returns, so
gates and gatekit's own HTTPS (the GitHub API) see it unchanged.

pygit2 takes two names from :mod:`ssl` (``DefaultVerifyPaths`` and
``get_default_verify_paths``), and importing ``ssl`` for them costs ~30 M instructions
more (``socket``, its enums). So while pygit2 is imported, ``sys.modules["ssl"]`` is a
stand-in offering exactly those two, computed from ``_ssl`` as :mod:`ssl` computes
them; it is gone when :func:`load` returns, and a later ``import ssl`` gets the real
module. Should a pygit2 want more of ``ssl``, it is imported again with the real one.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import NamedTuple

# What Python's ssl reads: a "file" that is never a regular file leaves only the dir.
_NO_FILE = os.devnull


class DefaultVerifyPaths(NamedTuple):
    """ssl.DefaultVerifyPaths, field for field."""

    cafile: str | None
    capath: str | None
    openssl_cafile_env: str
    openssl_cafile: str
    openssl_capath_env: str
    openssl_capath: str


def verify_paths() -> DefaultVerifyPaths:
    """What ``ssl.get_default_verify_paths()`` returns, without importing :mod:`ssl`."""
    import _ssl

    parts = _ssl.get_default_verify_paths()
    cafile = os.environ.get(parts[0], parts[1])
    capath = os.environ.get(parts[2], parts[3])
    return DefaultVerifyPaths(
        cafile if os.path.isfile(cafile) else None,
        capath if os.path.isdir(capath) else None,
        *parts,
    )


def load() -> None:
    """Import pygit2 (once per process; a no-op after)."""
    if "pygit2" in sys.modules:
        return
    paths = verify_paths()
    if paths.capath is None or paths.cafile is None:
        _import(paths)  # no CA file, or no dir to keep: libgit2 gets what there is
        return
    given = paths._replace(cafile=None)
    name = paths.openssl_cafile_env
    before = os.environ.get(name)
    os.environ[name] = _NO_FILE
    try:
        _import(given)
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def _import(paths: DefaultVerifyPaths) -> None:
    """Import pygit2 with :func:`stand_in` as ``ssl`` (unless the real one is loaded)."""
    if "ssl" in sys.modules:
        _import_real()
        return
    module = stand_in(paths)
    sys.modules["ssl"] = module
    try:
        importlib.import_module("pygit2")
    except ImportError:
        _drop(module)
        _import_real()  # this pygit2 takes more from ssl than the stand-in has
    finally:
        _drop(module)


def _import_real() -> None:
    # ssl reads the environment load() set: it reports what stand_in would
    importlib.import_module("pygit2")


def stand_in(paths: DefaultVerifyPaths) -> types.ModuleType:
    """A module named ``ssl`` with the two names pygit2 takes from it."""
    module = types.ModuleType("ssl", "gatekit's stand-in for ssl while pygit2 is imported")
    module.DefaultVerifyPaths = DefaultVerifyPaths  # type: ignore[attr-defined]
    module.get_default_verify_paths = lambda: paths  # type: ignore[attr-defined]
    return module


def _drop(module: types.ModuleType) -> None:
    if sys.modules.get("ssl") is module:
        del sys.modules["ssl"]
