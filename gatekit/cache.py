"""The result cache: a gate that already passed on the same inputs is not run again.

Key (:func:`cache_key`) = sha256 of the canonical JSON of
  * the gate's resolved definition, minus ``decision``, ``reason`` and
    ``description`` (they do not change what the gate does);
  * its inputs in the candidate tree: the whole tree OID when the gate has no
    ``paths``; else the sorted (path, mode, OID) of the tree entries its
    ``paths`` globs match (a matched directory counts by its subtree OID).
    A ``nox:`` gate also depends on ``noxfile.py``; a ``secrets`` gate on its
    baseline file;
  * for built-in gates, the same inputs in the base tree: they examine only
    what changed against the base, so another base is another question;
  * for ``pre-commit:`` gates whose hook is resolved, the hook as pre-commit resolves it
    and the (path, mode, OID) of the files it would be given (its filters and identify
    tags applied), in the candidate and in the base;
  * the environment fingerprint (:func:`environment_fingerprint`: python,
    platform, gatekit and its tools' versions).

Lookup: the result notes (``refs/notes/gatekit`` and fetched
``refs/notes/remotes/*/gatekit``) hold one RunResult per line; a gate record
with this ``cache_key`` and outcome ``passed`` (not flaky) or ``cached`` is a
hit, and names the checkpoint it came from. Failures are never hits.

Index: reading every note on every check would be slow, so
``<common dir>/gatekit/cache/index.json`` maps note blobs to their passing
keys, with the notes tips it was built from. When a tip moves, only note blobs
not seen before are read; blobs gone from the notes are dropped.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekit import __version__, canonical
from gatekit.atomicfile import save_quietly
from gatekit.globs import compile_glob, matches

if TYPE_CHECKING:
    import pygit2

    from gatekit.plan.model import PlannedGate
    from gatekit.results import GateResult

CACHE_FORMAT = 1
NOTES_REF = "refs/notes/gatekit"
INDEX_VERSION = 3
_TOOLS = ("pygit2", "detect-secrets", "junitparser", "PyYAML", "nox")
_GLOB_CHARS = set("*?[")


# --- the key -------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def environment_info() -> dict[str, str]:
    info = {
        "python": ".".join(map(str, sys.version_info[:3])),
        "implementation": sys.implementation.name,
        "platform": sys.platform,
        "machine": os.uname().machine,  # platform.machine(), without importing platform
        "gatekit": __version__,
    }
    found = dist_info_versions(_TOOLS)
    for tool in _TOOLS:
        if tool in found:
            info[tool] = found[tool]
            continue
        from importlib import metadata

        try:
            info[tool] = metadata.version(tool)
        except metadata.PackageNotFoundError:
            info[tool] = "absent"
    return info


def _normal(name: str) -> str:
    return name.replace("-", "_").replace(".", "_").lower()


def dist_info_versions(names: Sequence[str]) -> dict[str, str]:
    """Versions read from the names of ``NAME-VERSION.dist-info`` directories on sys.path,
    the first entry winning as for imports. importlib.metadata reads and parses each
    METADATA file (~10 ms a package, on every check); what is not found here falls
    back to it."""
    wanted = {_normal(n): n for n in names}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            children = os.listdir(entry or ".")
        except OSError:
            continue
        for child in children:
            if not child.endswith(".dist-info"):
                continue
            dist, _, version = child.removesuffix(".dist-info").partition("-")
            name = wanted.get(_normal(dist))
            if name is not None and version and name not in found:
                found[name] = version
        if len(found) == len(wanted):
            break
    return found


@functools.lru_cache(maxsize=1)
def environment_fingerprint() -> str:
    """sha256 of what the host contributes to a gate's outcome."""
    return canonical.digest(environment_info())


def gate_definition(gate: PlannedGate) -> dict[str, Any]:
    return gate.model_dump(mode="json", exclude={"decision", "reason", "description"})


def _literal_prefix(pattern: str) -> str | None:
    """The directory a pattern is confined to ('' = the root); None: matches at any depth."""
    body = pattern.rstrip("/")
    segments = body.split("/")
    if len(segments) == 1 and segments[0] != "**":
        return None
    literal: list[str] = []
    for seg in segments[:-1]:
        if _GLOB_CHARS & set(seg):
            break
        literal.append(seg)
    return "/".join(literal)


def _worth_descending(directory: str, prefixes: Sequence[str | None]) -> bool:
    for prefix in prefixes:
        if prefix is None or prefix == "" or prefix == directory:
            return True
        if prefix.startswith(directory + "/") or directory.startswith(prefix + "/"):
            return True
    return False


def input_entries(
    repo: pygit2.Repository, tree_hex: str, patterns: Sequence[str]
) -> list[tuple[str, int, str]]:
    """Sorted (path, mode, OID) of the entries of a tree matching ``patterns``."""
    import pygit2

    for p in patterns:
        compile_glob(p)  # a bad pattern fails here, not silently as "no input"
    prefixes = [_literal_prefix(p) for p in patterns]
    out: list[tuple[str, int, str]] = []
    stack: list[tuple[str, pygit2.Tree]] = [("", repo[tree_hex].peel(pygit2.Tree))]
    while stack:
        prefix, tree = stack.pop()
        for entry in tree:
            path = prefix + (entry.name or "")
            if any(matches(path, p) for p in patterns):
                out.append((path, int(entry.filemode), str(entry.id)))
            elif entry.type_str == "tree" and _worth_descending(path, prefixes):
                stack.append((path + "/", repo[entry.id].peel(pygit2.Tree)))
    return sorted(out)


def _extra_inputs(gate: PlannedGate) -> list[str]:
    extra: list[str] = []
    if gate.runner == "nox":
        extra.append("noxfile.py")
    if gate.builtin == "secrets":
        baseline = gate.options.get("baseline", ".secrets.baseline")
        if isinstance(baseline, str):
            extra.append(baseline)
    return extra


def _local_inputs(repo: pygit2.Repository, tree_hex: str, gate: PlannedGate) -> list[str]:
    """Local packages and requirement files a session's deps name ("" = the whole tree)."""
    from gatekit.run import localdeps

    deps = tuple(gate.session.deps) if gate.session is not None else ()
    if not gate.paths or not localdeps.needs_candidate(deps):
        return []
    import pygit2

    from gatekit.record.objects import tree_text

    tree = repo[tree_hex].peel(pygit2.Tree)
    try:
        resolved = localdeps.resolve(deps, lambda rel: tree_text(tree, rel))
    except localdeps.LocalDepsError:
        return [""]  # the gate fails on it; key it by the whole tree
    return [*resolved.read, *(p.path for p in resolved.local)]


def tree_inputs(repo: pygit2.Repository, tree_hex: str, gate: PlannedGate) -> Any:
    """The part of a tree a gate depends on: its tree OID, or its matching entries."""
    import pygit2

    extra = _extra_inputs(gate) + _local_inputs(repo, tree_hex, gate)
    if not gate.paths or "" in extra:
        return str(repo[tree_hex].peel(pygit2.Tree).id)
    patterns = list(gate.paths) + [e for e in extra if not any(matches(e, p) for p in gate.paths)]
    return input_entries(repo, tree_hex, patterns)


def cache_key(
    gate: PlannedGate,
    repo: pygit2.Repository,
    tree_hex: str,
    env_fingerprint: str,
    *,
    base: str | None = None,
) -> str:
    """sha256 hex identifying "this gate, these inputs, this environment"."""
    return _cache_key(gate, repo, tree_hex, env_fingerprint, base=base)[0]


def _cache_key(
    gate: PlannedGate,
    repo: pygit2.Repository,
    tree_hex: str,
    env_fingerprint: str,
    *,
    base: str | None = None,
) -> tuple[str, bool]:
    """The key, and whether it is final: a hook gate's key before its hook was resolved
    covers the whole tree (a later look, once resolved, gives the hook's own key)."""
    final = True
    body: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "gate": gate_definition(gate),
        "inputs": tree_inputs(repo, tree_hex, gate),
        "env": env_fingerprint,
    }
    if gate.runner == "builtin":
        body["base_inputs"] = tree_inputs(repo, base, gate) if base else None
    if gate.runner == "pre-commit":
        final = _hook_key(body, gate, repo, tree_hex, base)
    return canonical.digest(body), final


def _hook_key(
    body: dict[str, Any], gate: PlannedGate, repo: pygit2.Repository, tree: str, base: str | None
) -> bool:
    """A hook gate, once its hook is resolved: exactly the files it would be given, here and
    in the base (it examines what changed), and the hook itself; else the whole tree
    (False: not resolved yet)."""
    from gatekit.precommit.keys import hook_inputs, resolved_hook

    hook = resolved_hook(repo, tree, gate)
    if hook is None:
        return False
    body["hook"] = hook.definition()
    # the base first: the candidate's choice of files is then derived from the base's
    body["base_inputs"] = hook_inputs(repo, base, hook) if base else None
    body["inputs"] = hook_inputs(repo, tree, hook)
    return True


# --- the lookup ----------------------------------------------------------------------


def notes_refs(repo: pygit2.Repository) -> dict[str, str]:
    """Tips of the local and fetched gatekit notes refs."""
    tips: dict[str, str] = {}
    for name in repo.references:
        if name == NOTES_REF or (
            name.startswith("refs/notes/remotes/") and name.endswith("/gatekit")
        ):
            try:
                tips[name] = str(repo.references[name].resolve().target)
            except (KeyError, ValueError):
                continue
    return dict(sorted(tips.items()))


def passing_keys(note_text: str, annotated: str) -> list[list[str]]:
    """[key, checkpoint] of every gate that passed (or was cached) in a note's records."""
    out: list[list[str]] = []
    for line in note_text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        checkpoint = record.get("checkpoint") or annotated
        for gate in record.get("gates") or ():
            if not isinstance(gate, dict):
                continue
            key = gate.get("cache_key")
            if not isinstance(key, str) or not key:
                continue
            outcome = gate.get("outcome")
            if outcome == "passed" and not gate.get("flaky"):
                out.append([key, str(checkpoint)])
            elif outcome == "cached" and isinstance(gate.get("cached_from"), str):
                out.append([key, gate["cached_from"]])
    return out


def _iter_all_notes(repo: pygit2.Repository, refs: Sequence[str]) -> Iterator[tuple[str, str]]:
    from gatekit.record.notes import iter_notes

    for ref in refs:
        for annotated, _path, blob in iter_notes(repo, ref):
            yield annotated, blob


class ResultCache:
    """Keys of the gates of one candidate, and lookup of earlier passes."""

    def __init__(
        self,
        repo: pygit2.Repository,
        *,
        tree: str,
        base: str | None,
        env_fingerprint: str | None = None,
        index_dir: Path | None = None,
    ) -> None:
        from gatekit.git.repo import gatekit_dir

        self.repo = repo
        self.tree = tree
        self.base = base
        self.fingerprint = env_fingerprint or environment_fingerprint()
        self.index_path = (index_dir or gatekit_dir(repo) / "cache") / "index.json"
        self._keys: dict[str, str] = {}
        self._hits: dict[str, str] | None = None

    def key_for(self, gate: PlannedGate) -> str:
        """The gate's key; kept for the run once final (a hook gate looked up before its
        hook was resolved is keyed again after: its pass is recorded under the key the
        next run, which finds the hook resolved, looks for)."""
        hit = self._keys.get(gate.id)
        if hit is not None:
            return hit
        key, final = _cache_key(gate, self.repo, self.tree, self.fingerprint, base=self.base)
        if final:
            self._keys[gate.id] = key
        return key

    def lookup(self, key: str) -> str | None:
        """The checkpoint of an earlier pass with this key, or None."""
        if self._hits is None:
            self._hits = self._load()
        return self._hits.get(key)

    def _load(self) -> dict[str, str]:
        tips = notes_refs(self.repo)
        index = self._read_index()
        if index.get("tips") != tips:
            index = self._update(tips, index)
        hits: dict[str, str] = index["hits"]
        return hits

    def _read_index(self) -> dict[str, Any]:
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
            return {}
        if not isinstance(data.get("trees"), dict) or not isinstance(data.get("hits"), dict):
            return {}
        return data

    def _update(self, tips: dict[str, str], old: dict[str, Any]) -> dict[str, Any]:
        """Bring the index (key -> checkpoint of its first pass) up to the notes tips.

        Notes are only ever added to, or get lines appended: then a libgit2 diff of the
        notes tree last seen against the new one gives the few new note blobs to read.
        Anything else (a removed note or line, a ref that went away, a tree that is
        gone) rebuilds the index from every note, as the first run does.
        """
        import pygit2

        trees = {ref: str(self.repo[tip].peel(pygit2.Tree).id) for ref, tip in tips.items()}
        hits: dict[str, str] = dict(old.get("hits", {}))
        seen: dict[str, str] = old.get("trees", {})
        if set(seen) - set(trees):
            hits = {}  # a notes ref went away: its passes with it
            seen = {}
        for ref in sorted(trees):
            added = self._added_since(seen.get(ref), trees[ref]) if ref in seen else None
            if added is None and ref in seen:  # something was removed: start over
                return self._update(tips, {})
            pairs = added if added is not None else self._all_pairs(ref)
            for key, checkpoint in pairs:
                hits.setdefault(key, checkpoint)
        index = {"version": INDEX_VERSION, "tips": tips, "trees": trees, "hits": hits}
        self._write_index(index)
        return index

    def _added_since(self, before: str | None, after: str) -> list[list[str]] | None:
        """Passing keys in the notes added (or appended to) since ``before``; None when a
        note or a line went away (or ``before`` cannot be read)."""
        import pygit2

        if before == after:
            return []
        try:
            old_tree = self.repo[str(before)].peel(pygit2.Tree)
            diff = old_tree.diff_to_tree(self.repo[after].peel(pygit2.Tree))
        except (KeyError, ValueError, pygit2.GitError):
            return None
        out: list[list[str]] = []
        for delta in diff.deltas:
            if delta.status == pygit2.enums.DeltaStatus.DELETED:
                return None
            annotated = delta.new_file.path.replace("/", "")
            if len(annotated) not in (40, 64):
                continue  # not a note (git allows other files in a notes tree)
            new = self._pairs(annotated, str(delta.new_file.id))
            if delta.status == pygit2.enums.DeltaStatus.MODIFIED:
                old = self._pairs(annotated, str(delta.old_file.id))
                if any(pair not in new for pair in old):
                    return None  # a line was removed from a note
            out.extend(new)
        return out

    def _pairs(self, annotated: str, blob: str) -> list[list[str]]:
        data: bytes = self.repo[blob].data  # type: ignore[attr-defined]
        return passing_keys(data.decode("utf-8", "replace"), annotated)

    def _all_pairs(self, ref: str) -> list[list[str]]:
        out: list[list[str]] = []
        for annotated, blob in _iter_all_notes(self.repo, [ref]):
            out.extend(self._pairs(annotated, blob))
        return out

    def _write_index(self, index: dict[str, Any]) -> None:
        # the index only saves time; the notes are the truth
        with contextlib.suppress(OSError):
            self.index_path.parent.mkdir(parents=True, exist_ok=True)
        save_quietly(self.index_path, canonical.dumps(index))


def cache_hook(cache: ResultCache) -> Callable[[PlannedGate], GateResult | None]:
    """A ``GateHooks.lookup_cache``: a ``cached`` GateResult for a hit, else None."""
    from gatekit.results import GateResult, Outcome

    def lookup(gate: PlannedGate) -> GateResult | None:
        key = cache.key_for(gate)
        checkpoint = cache.lookup(key)
        if checkpoint is None:
            return None
        return GateResult(
            id=gate.id,
            outcome=Outcome.CACHED,
            reason=f"passed on the same inputs at checkpoint {checkpoint[:12]}",
            required=gate.required,
            cache_key=key,
            cached_from=checkpoint,
        )

    return lookup
