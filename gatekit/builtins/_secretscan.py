"""The detect-secrets engine behind ``secrets`` and ``gatekit secrets baseline``.

detect-secrets keeps its settings in a process-wide singleton, so every scan
holds :data:`_LOCK` (built-ins may run on several threads). Its logger can
print secret values at debug level: it is silenced for good.

:class:`Hit` is the only place a plain secret value lives; its ``repr`` hides
the value and nothing here logs it.

Scans are memoised per process (:data:`_SCANNED`): ``gatekit check`` scans the
changed files once for masking and the ``secrets`` gate scans them again; with
the same settings (no baseline, or the same one) and the same file bytes the
second scan is the first one's answer. The key is the file's path, the
sha256 of its bytes (read before and after the scan, kept only when equal)
and the active settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from gatekit.builtins._files import escapes_root, resolve_inside
from gatekit.errors import UsageError
from gatekit.lazyclass import dataclass

_LOCK = threading.Lock()
# (file path, sha256 of its bytes, settings key) -> hits; only touched under _LOCK.
_SCANNED: dict[tuple[str, str, str], tuple[Hit, ...]] = {}
_SCANNED_MAX = 20_000
_settings_key = ""


@dataclass(frozen=True)
class Hit:
    path: str  # repository-relative
    line: int
    type: str  # detect-secrets' secret type, e.g. "AWS Access Key"
    hashed: str  # detect-secrets' SHA-1 of the value (baseline matching only)
    value: str = field(repr=False, compare=False)


def rule_for(secret_type: str) -> str:
    """Stable rule id of a secret type: ``secrets/aws-access-key``."""
    return "secrets/" + (re.sub(r"[^a-z0-9]+", "-", secret_type.lower()).strip("-") or "secret")


def _quiet() -> None:
    logging.getLogger("detect-secrets").setLevel(logging.CRITICAL + 1)


def load_baseline(path: Path) -> dict[str, Any]:
    """A ``.secrets.baseline`` file, upgraded to the current format."""
    from detect_secrets.core import baseline

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "results" not in data:
            raise ValueError("no 'results'")
        upgraded: dict[str, Any] = baseline.upgrade(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"cannot read the secrets baseline {path.name}: {exc}",
            tip="regenerate it with 'gatekit secrets baseline --update'",
        ) from None
    return upgraded


def baseline_keys(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(path, hashed secret, type) of every secret a baseline knows."""
    keys: set[tuple[str, str, str]] = set()
    for filename, items in data.get("results", {}).items():
        for item in items:
            keys.add((str(filename), str(item.get("hashed_secret")), str(item.get("type"))))
    return keys


@contextlib.contextmanager
def settings(baseline_data: dict[str, Any] | None) -> Iterator[None]:
    """detect-secrets settings: the baseline's plugins/filters when there is one, else defaults."""
    from detect_secrets.settings import default_settings, transient_settings

    with _LOCK:
        _quiet()
        if baseline_data is None:
            with default_settings(), _keyed("default"):
                yield
        else:
            config: dict[str, Any] = {
                k: baseline_data[k] for k in ("plugins_used", "filters_used") if k in baseline_data
            }
            if not config.get("plugins_used"):
                with default_settings(), _keyed("default"):
                    yield
                return
            key = "baseline:" + json.dumps(config, sort_keys=True, default=str)
            with transient_settings(config), _keyed(key):
                yield


@contextlib.contextmanager
def _keyed(key: str) -> Iterator[None]:
    """Name the active settings for the memo (called under _LOCK)."""
    global _settings_key
    _settings_key = key
    try:
        yield
    finally:
        _settings_key = ""


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _scan_one(root: Path, rel: str) -> tuple[Hit, ...]:
    """Hits of one file, memoised on (path, bytes, settings) (call inside :func:`settings`)."""
    from detect_secrets.core import scan

    path = root / rel
    before = _digest(path) if _settings_key else None
    if before is not None:
        memo = _SCANNED.get((str(path), before, _settings_key))
        if memo is not None:
            return memo
    hits = tuple(
        Hit(
            path=rel,
            line=int(secret.line_number or 1),
            type=str(secret.type),
            hashed=str(secret.secret_hash),
            value=secret.secret_value,
        )
        for secret in scan.scan_file(str(path))
        if secret.secret_value is not None
    )
    if before is not None and _digest(path) == before:
        if len(_SCANNED) >= _SCANNED_MAX:
            _SCANNED.clear()
        _SCANNED[(str(path), before, _settings_key)] = hits
    return hits


def scan_files(root: Path, paths: Sequence[str], notes: list[str] | None = None) -> list[Hit]:
    """Hits of every line of ``paths`` under ``root`` (call inside :func:`settings`)."""
    hits: list[Hit] = []
    for rel in paths:
        if escapes_root(root, rel):
            if notes is not None:
                notes.append(f"{rel}: symlink pointing outside the repository, not followed")
            continue
        if (root / rel).is_symlink() or resolve_inside(root, rel) is None:
            continue
        hits.extend(_scan_one(root, rel))
    return hits
