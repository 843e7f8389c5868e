"""``gatekit secrets baseline``: write or update ``.secrets.baseline`` (detect-secrets format).

Scans the tracked files of the user's working tree (regular files inside the
repository; symlinks and submodules skipped). The baseline stores hashed
values only; nothing here prints a value. ``update`` keeps the baseline's
plugin/filter settings and its audit labels (``is_secret``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.builtins._files import check_relative, resolve_inside
from gatekit.builtins._secretscan import load_baseline, settings
from gatekit.errors import UsageError
from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    import pygit2

DEFAULT_BASELINE = ".secrets.baseline"
PARALLEL_ABOVE = 300  # files; below this a process pool costs more than it saves

_REGULAR_MODES = {0o100644, 0o100755}


@dataclass(frozen=True)
class BaselineReport:
    path: str  # repository-relative
    scanned: int
    files: int  # files with at least one potential secret
    secrets: int
    updated: bool


def tracked_files(repo: pygit2.Repository, root: Path, exclude: str) -> list[str]:
    out = []
    for entry in repo.index:
        if entry.mode not in _REGULAR_MODES or entry.path == exclude:
            continue
        if resolve_inside(root, entry.path) is None or (root / entry.path).is_symlink():
            continue
        out.append(entry.path)
    return sorted(out)


def write_baseline(
    repo: pygit2.Repository, root: Path, *, baseline: str = DEFAULT_BASELINE, update: bool = False
) -> BaselineReport:
    from detect_secrets.core import baseline as ds_baseline
    from detect_secrets.core.secrets_collection import SecretsCollection

    rel = check_relative(baseline)
    target = root / rel
    old = None
    if target.exists():
        if not update:
            raise UsageError(
                f"{rel} already exists", tip="run 'gatekit secrets baseline --update' to refresh it"
            )
        old = load_baseline(target)
    paths = tracked_files(repo, root, rel)
    with settings(old):
        collection = SecretsCollection(root=str(root))
        if len(paths) > PARALLEL_ABOVE:
            collection.scan_files(*paths)
        else:
            for path in paths:
                collection.scan_file(path)
        for filename, secret in collection:
            secret.filename = filename  # repository-relative, never the machine's absolute path
        if old is not None:
            collection.merge(SecretsCollection.load_from_baseline(old))
        output = ds_baseline.format_for_output(collection)
    ds_baseline.save_to_file(output, str(target))
    files = {f for f, _s in collection}
    return BaselineReport(
        path=rel,
        scanned=len(paths),
        files=len(files),
        secrets=sum(1 for _ in collection),
        updated=old is not None,
    )
