"""The files each set of hook filters chooses from a tree, kept from one check to the next.

Every hook gate's cache key lists the files of the candidate (and of its base) the
hook would be given: its regexes and ``identify`` tags applied to every file of the
tree, for each hook, at every check. A tree OID names immutable content, so the
choice is kept per tree in ``<gatekit dir>/pre-commit/chosen/<tree>.json``: the
next check of the same tree (a cached re-run, or the base of the next commit's
check, which is this commit's tree) reads it instead, and a new tree's choice is
derived from its base's (:meth:`gatekit.precommit.select.Tagger.every_file_for`).

What the choice also depends on is in the file: the ``identify`` version (its
tables decide the tags) and this format. A file that does not fit is ignored and
written again; at most :data:`KEEP` trees are kept (the oldest go).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gatekit.atomicfile import keep_newest, save_quietly
from gatekit.precommit.select import Choice

if TYPE_CHECKING:
    import pygit2

FORMAT = 1
KEEP = 64


@functools.lru_cache(maxsize=1)
def identify_version() -> str | None:
    """The installed ``identify``'s version (None: not found: nothing is kept)."""
    from gatekit.cache import dist_info_versions

    return dist_info_versions(("identify",)).get("identify")


class TreeChoices:
    """The kept choices of one tree (see the module docstring)."""

    def __init__(self, repo: pygit2.Repository, tree_hex: str) -> None:
        from gatekit.git.repo import gatekit_dir

        self.path = gatekit_dir(repo) / "pre-commit" / "chosen" / f"{tree_hex}.json"
        self._stamp = {"format": FORMAT, "identify": identify_version()}
        self._choices: dict[str, Choice] = {}
        self._usable = self._stamp["identify"] is not None
        if self._usable:
            self._choices = self._read()

    def _read(self) -> dict[str, Choice]:
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("stamp") != self._stamp:
            return {}
        choices = data.get("choices")
        if not isinstance(choices, dict):
            return {}
        out: dict[str, Choice] = {}
        for key, value in choices.items():
            if not isinstance(value, dict):
                continue
            paths, digest = value.get("paths"), value.get("digest")
            if (
                isinstance(digest, str)
                and isinstance(paths, list)
                and all(isinstance(p, str) for p in paths)
            ):
                out[key] = Choice(paths, digest)
        return out

    def get(self, filters: tuple[object, ...]) -> Choice | None:
        return self._choices.get(_key(filters))

    def put(self, choices: Mapping[tuple[object, ...], Choice]) -> None:
        if not self._usable:
            return
        new_file = not self._choices and not self.path.exists()
        self._choices.update((_key(f), c) for f, c in choices.items())
        body = {k: {"paths": c.paths, "digest": c.digest} for k, c in self._choices.items()}
        text = json.dumps({"stamp": self._stamp, "choices": body}, sort_keys=True)
        if not self.path.parent.is_dir():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                return
        if save_quietly(self.path, text) and new_file:
            keep_newest(self.path.parent, KEEP, lambda name: name.endswith(".json"))


def _key(filters: tuple[object, ...]) -> str:
    return hashlib.sha256(json.dumps(filters).encode()).hexdigest()[:32]
