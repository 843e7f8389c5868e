"""The detect-secrets engine behind ``secrets`` and ``gatekit secrets baseline``.

detect-secrets keeps its settings in a process-wide singleton, so every scan
holds :data:`_LOCK` (built-ins may run on several threads). Its logger can
print secret values at debug level: it is silenced for good.

:class:`Hit` is the only place a plain secret value lives; its ``repr`` hides
the value and nothing here logs it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekit.builtins._files import escapes_root, resolve_inside
from gatekit.errors import UsageError

_LOCK = threading.Lock()


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
            with default_settings():
                yield
        else:
            config: dict[str, Any] = {
                k: baseline_data[k] for k in ("plugins_used", "filters_used") if k in baseline_data
            }
            if not config.get("plugins_used"):
                with default_settings():
                    yield
                return
            with transient_settings(config):
                yield


def scan_files(root: Path, paths: Sequence[str], notes: list[str] | None = None) -> list[Hit]:
    """Hits of every line of ``paths`` under ``root`` (call inside :func:`settings`)."""
    from detect_secrets.core import scan

    hits: list[Hit] = []
    for rel in paths:
        if escapes_root(root, rel):
            if notes is not None:
                notes.append(f"{rel}: symlink pointing outside the repository, not followed")
            continue
        if (root / rel).is_symlink() or resolve_inside(root, rel) is None:
            continue
        for secret in scan.scan_file(str(root / rel)):
            if secret.secret_value is None:
                continue
            hits.append(
                Hit(
                    path=rel,
                    line=int(secret.line_number or 1),
                    type=str(secret.type),
                    hashed=str(secret.secret_hash),
                    value=secret.secret_value,
                )
            )
    return hits
