"""Where an apply of fixes keeps its lock and its journal (a crash leaves the journal).

Apart from :mod:`gatekit.record.apply` so that every check can ask whether an apply is
pending without importing the apply itself.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.git.repo import gatekit_dir

if TYPE_CHECKING:
    import pygit2


def index_path(repo: pygit2.Repository) -> Path:
    return Path(repo.path) / "index"


def state_paths(repo: pygit2.Repository) -> tuple[Path, Path]:
    """The apply's lock file and its journal, for this repository's index."""
    key = hashlib.sha1(str(index_path(repo)).encode()).hexdigest()[:20]
    base = gatekit_dir(repo)
    return base / "locks" / f"apply-{key}.flock", base / "apply" / f"{key}.json"


def pending(repo: pygit2.Repository) -> bool:
    """Whether a journal is there: an apply that a crash interrupted (or one running)."""
    return os.path.lexists(state_paths(repo)[1])
