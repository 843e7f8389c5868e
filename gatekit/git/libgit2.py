"""Importing pygit2 without libgit2 reading the system's whole CA bundle.

On import pygit2 hands libgit2 the TLS trust locations Python's :mod:`ssl` reports,
and OpenSSL parses the CA bundle file then and there: ~105 million instructions
(measured with callgrind: ``import pygit2`` 409 M, 304 M without the file), a sixth
of a whole ``gatekit check``. gatekit never talks to a remote through libgit2 (it
runs ``git`` for fetch and push), so the bundle is read for nothing.

When the system also has a certificate directory, :func:`load` imports pygit2 with
only that directory (OpenSSL looks certificates up there when it verifies, not
before): libgit2 could still verify a TLS peer. Without one, pygit2 is imported as
usual. The environment is restored before :func:`load` returns, so gates and
gatekit's own HTTPS (the GitHub API) see it unchanged.
"""

from __future__ import annotations

import importlib
import os
import sys

# What Python's ssl reads: a "file" that is never a regular file leaves only the dir.
_NO_FILE = os.devnull


def load() -> None:
    """Import pygit2 (once per process; a no-op after)."""
    if "pygit2" in sys.modules:
        return
    import ssl

    paths = ssl.get_default_verify_paths()
    if paths.capath is None or paths.cafile is None:
        importlib.import_module("pygit2")  # nothing to save: no CA file, or no dir to keep
        return
    name = paths.openssl_cafile_env
    before = os.environ.get(name)
    os.environ[name] = _NO_FILE
    try:
        importlib.import_module("pygit2")
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before
