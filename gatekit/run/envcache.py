"""Where gate environments are kept by default (a module of its own: every run needs the
path, and only runs that build an environment need :mod:`gatekit.run.noxenv`)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/gatekit/envs`` or ``~/.cache/gatekit/envs``."""
    environ = dict(os.environ) if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or str(
        Path(environ.get("HOME", "~")).expanduser() / ".cache"
    )
    return Path(base) / "gatekit" / "envs"
