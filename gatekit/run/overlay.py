"""Per-candidate overlays of local packages on a shared environment.

The cached environment holds only what comes from the package index. A local
package is installed, without its dependencies, into a directory of its own,
``<cache>/local/overlays/<env key>-<id>/``, where ``<id>`` is the tree OID of
the package in the candidate (plus the source path for an editable install,
which points at it). An overlay is made once and never changed, so an unchanged
package is not reinstalled, and two checks of different candidates use two
different overlays of the same environment at the same time.

Which overlays a process sees is said by ``GATEKIT_OVERLAY`` (directories, in
order). The environment carries a ``.pth`` hook, written when it is created,
that adds those directories as site directories (so their own ``.pth`` files,
editable installs among them, work) ahead of the environment's site-packages.
Scripts of an overlay (``<overlay>/bin``) come first on ``PATH``.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

OVERLAY_VAR = "GATEKIT_OVERLAY"
HOOK_NAME = "_gatekit_overlay"

HOOK_MODULE = f'''"""Written by gatekit: puts the directories in ${OVERLAY_VAR} ahead on sys.path."""
import os
import site
import sys


def _add():
    dirs = [d for d in os.environ.get({OVERLAY_VAR!r}, "").split(os.pathsep) if d]
    if not dirs:
        return
    before = list(sys.path)
    for d in dirs:
        site.addsitedir(d)
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + before


_add()
'''


def install_hook(venv: Path) -> None:
    """Write the overlay hook into every site-packages of ``venv``."""
    for site_dir in sorted(venv.glob("lib/python*/site-packages")):
        (site_dir / f"{HOOK_NAME}.py").write_text(HOOK_MODULE, encoding="utf-8")
        (site_dir / f"{HOOK_NAME}.pth").write_text(f"import {HOOK_NAME}\n", encoding="utf-8")


def has_hook(venv: Path) -> bool:
    return any(venv.glob(f"lib/python*/site-packages/{HOOK_NAME}.pth"))


def overlay_dir(cache: Path, env_key: str, oid: str, editable_source: Path | None) -> Path:
    ident = oid
    if editable_source is not None:
        where = str(editable_source.resolve())
        ident += "-e" + hashlib.sha256(where.encode()).hexdigest()[:12]
    return cache / "local" / "overlays" / f"{env_key}-{ident}"


def is_ready(directory: Path) -> bool:
    return (directory / "ready").exists()


def install_command(
    uv: str | None, python: Path, target: Path, source: Path, *, editable: bool
) -> list[str]:
    what = ["-e", str(source)] if editable else [str(source)]
    if uv is not None:
        return [
            uv,
            "pip",
            "install",
            "--python",
            str(python),
            "--no-deps",
            "--target",
            str(target),
            *what,
        ]
    return [str(python), "-m", "pip", "install", "--no-deps", "--target", str(target), *what]


def finish(tmp: Path, final: Path) -> None:
    """Move a finished install into place and mark it ready (under the caller's lock)."""
    (tmp / "ready").write_text("ok\n", encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)


def env_for(dirs: list[Path], env: dict[str, str]) -> dict[str, str]:
    """A gate's environment with these overlays in force."""
    import os

    out = dict(env)
    out[OVERLAY_VAR] = os.pathsep.join(str(d) for d in dirs)
    bins = [str(d / "bin") for d in dirs if (d / "bin").is_dir()]
    out["PATH"] = os.pathsep.join([*bins, out.get("PATH", "")]).rstrip(os.pathsep)
    return out
