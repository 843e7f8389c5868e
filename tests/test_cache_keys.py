"""The result cache: keys follow a gate's inputs, definition and environment; lookup in notes."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
from conftest import Repo

from gatekit import canonical
from gatekit.cache import ResultCache, cache_hook, cache_key, environment_fingerprint
from gatekit.config.models import Event, GateType, SessionSpec
from gatekit.plan.model import Decision, PlanContext, PlannedGate, RetryPolicy
from gatekit.record.notes import append_notes
from gatekit.results import Environment, GateResult, Outcome, RunResult, Verdict

ENV = "env-fingerprint-1"


def gate(**over: object) -> PlannedGate:
    fields: dict[str, object] = dict(
        id="lint",
        type=GateType.AUTO,
        decision=Decision.RUN,
        reason="auto gate",
        required=True,
        needs=(),
        paths=("src/**", "pyproject.toml"),
        runner="session",
        session=SessionSpec(deps=["ruff==0.8.0"], run=["ruff check ."]),
        timeout=600.0,
        retries=RetryPolicy(transient=0, flaky=0, exit_codes=(), patterns=(), backoff=5.0),
        network=False,
        fix=False,
        cache=True,
    )
    fields.update(over)
    return PlannedGate(**fields)  # type: ignore[arg-type]


def tree_of(r: Repo) -> tuple[pygit2.Repository, str]:
    r.git("add", "-A")
    repo = pygit2.Repository(str(r.path))
    return repo, str(repo.index.write_tree())


def key(r: Repo, g: PlannedGate, env: str = ENV, base: str | None = None) -> str:
    repo, tree = tree_of(r)
    return cache_key(g, repo, tree, env, base=base)


def test_outside_paths_same_key_inside_different(repo: Repo) -> None:
    repo.write("src/pkg/a.py", "a = 1\n")
    repo.write("docs/x.md", "x\n")
    repo.write("pyproject.toml", "[project]\n")
    g = gate()
    first = key(repo, g)
    repo.write("docs/x.md", "changed\n")
    repo.write("other/new.txt", "new\n")
    assert key(repo, g) == first
    repo.write("src/pkg/a.py", "a = 2\n")
    second = key(repo, g)
    assert second != first
    repo.write("pyproject.toml", "[project]\nname = 'x'\n")
    assert key(repo, g) != second
    # An executable bit is an input change too.
    third = key(repo, g)
    (repo.path / "src/pkg/a.py").chmod(0o755)
    assert key(repo, g) != third


def test_anywhere_globs(repo: Repo) -> None:
    repo.write("a/b/c.py", "x\n")
    repo.write("a/b/c.txt", "x\n")
    g = gate(paths=("*.py",))
    first = key(repo, g)
    repo.write("a/b/c.txt", "y\n")
    assert key(repo, g) == first
    repo.write("z/new.py", "y\n")
    assert key(repo, g) != first


def test_no_paths_means_the_whole_tree(repo: Repo) -> None:
    g = gate(paths=None)
    first = key(repo, g)
    repo.write("anything.txt", "x\n")
    assert key(repo, g) != first


def test_definition_dependency_and_environment_change_the_key(repo: Repo) -> None:
    repo.write("src/a.py", "x\n")
    base = key(repo, gate())
    assert key(repo, gate(decision=Decision.SKIP, reason="other words", description="d")) == base
    assert key(repo, gate(session=SessionSpec(deps=["ruff==0.9.0"], run=["ruff check ."]))) != base
    assert (
        key(repo, gate(session=SessionSpec(deps=["ruff==0.8.0"], run=["ruff check src"]))) != base
    )
    assert key(repo, gate(env={"X": "1"})) != base
    assert key(repo, gate(), env="env-fingerprint-2") != base


def test_nox_gates_depend_on_the_noxfile(repo: Repo) -> None:
    repo.write("noxfile.py", "# v1\n")
    repo.write("src/a.py", "x\n")
    g = gate(runner="nox", session=None, nox="tests", paths=("src/**",))
    first = key(repo, g)
    repo.write("noxfile.py", "# v2\n")
    assert key(repo, g) != first


def test_builtin_gates_depend_on_the_base(repo: Repo) -> None:
    repo.write("src/a.py", "x\n")
    b1 = repo.commit("one")
    repo.write("src/b.py", "y\n")
    b2 = repo.commit("two")
    g = gate(runner="builtin", session=None, builtin="conflict-markers", paths=("src/**",))
    assert key(repo, g, base=b1) != key(repo, g, base=b2)
    assert key(repo, g, base=b2) == key(repo, g, base=b2)


def test_environment_fingerprint_is_stable() -> None:
    assert environment_fingerprint() == environment_fingerprint()
    assert len(environment_fingerprint()) == 64


def record(gates: tuple[GateResult, ...], checkpoint: str | None = None) -> str:
    result = RunResult(
        run_id="run-1",
        plan_id="p" * 64,
        policies=(),
        context=PlanContext(event=Event.PRE_COMMIT),
        verdict=Verdict.PASSED,
        exit_code=0,
        gates=gates,
        environment=Environment(python="3.11", platform="linux", gatekit="0.1.0", fingerprint=ENV),
        started_at="2025-01-01T00:00:00Z",
        duration=1.0,
        checkpoint=checkpoint,
    )
    return canonical.dumps(result.model_dump(mode="json"))


def test_lookup_passes_from_local_and_fetched_notes(repo: Repo, tmp_path: Path) -> None:
    repo.write("src/a.py", "x\n")
    checkpoint = repo.commit("stand-in checkpoint")
    pg = pygit2.Repository(str(repo.path))
    tree = str(pg.head.peel(pygit2.Commit).tree.id)
    cache = ResultCache(pg, tree=tree, base=None, env_fingerprint=ENV)
    lint, unit = gate(), gate(id="unit", paths=("tests/**",))
    k_lint, k_unit = cache.key_for(lint), cache.key_for(unit)
    hook = cache_hook(cache)
    assert hook(lint) is None  # nothing recorded yet

    append_notes(
        pg,
        [
            (
                checkpoint,
                record(
                    (
                        GateResult(id="lint", outcome=Outcome.PASSED, cache_key=k_lint),
                        GateResult(id="unit", outcome=Outcome.FAILED, cache_key=k_unit),
                    ),
                    checkpoint=checkpoint,
                ),
            )
        ],
    )
    fresh = ResultCache(pg, tree=tree, base=None, env_fingerprint=ENV)
    assert fresh.lookup(k_lint) == checkpoint
    assert fresh.lookup(k_unit) is None  # failures are never cached as passes
    hit = cache_hook(fresh)(lint)
    assert hit is not None and hit.outcome is Outcome.CACHED and hit.cached_from == checkpoint
    assert hit.cache_key == k_lint
    index = json.loads(fresh.index_path.read_text())
    assert index["tips"] and fresh.index_path.is_relative_to(repo.path / ".git" / "gatekit")

    # A teammate's notes, fetched under refs/notes/remotes/<remote>/gatekit.
    flaky = GateResult(id="unit", outcome=Outcome.PASSED, cache_key=k_unit, flaky=True)
    append_notes(
        pg, [(checkpoint, record((flaky,), checkpoint))], ref="refs/notes/remotes/origin/gatekit"
    )
    assert ResultCache(pg, tree=tree, base=None, env_fingerprint=ENV).lookup(k_unit) is None
    other = repo.commit("another checkpoint")
    append_notes(
        pg,
        [
            (
                other,
                record((GateResult(id="unit", outcome=Outcome.PASSED, cache_key=k_unit),), other),
            )
        ],
        ref="refs/notes/remotes/origin/gatekit",
    )
    again = ResultCache(pg, tree=tree, base=None, env_fingerprint=ENV)
    assert again.lookup(k_unit) == other
    assert again.lookup(k_lint) == checkpoint


def test_a_cached_record_points_at_the_original_checkpoint(repo: Repo) -> None:
    first = repo.commit("first")
    second = repo.commit("second")
    pg = pygit2.Repository(str(repo.path))
    cached = GateResult(id="lint", outcome=Outcome.CACHED, cache_key="k" * 64, cached_from=first)
    append_notes(pg, [(second, record((cached,), second))])
    cache = ResultCache(pg, tree=str(pg.head.peel(pygit2.Commit).tree.id), base=None)
    assert cache.lookup("k" * 64) == first


def _note(key: str, outcome: str = "passed") -> str:
    return json.dumps({"gates": [{"cache_key": key, "outcome": outcome}]})


def test_cache_index_follows_notes_incrementally_and_matches_a_full_walk(repo: Repo) -> None:
    """The local index is updated from a diff of the notes trees; the hits equal a fresh walk."""
    from gatekit.cache import ResultCache
    from gatekit.record.notes import append_notes, remove_notes

    pr = pygit2.Repository(str(repo.path))
    tree = str(pr.head.peel(pygit2.Commit).tree_id)
    blobs = [str(pr.create_blob(f"object {i}\n".encode())) for i in range(12)]

    def hits(index_dir: Path) -> dict[str, str]:
        cache = ResultCache(pr, tree=tree, base=None, index_dir=index_dir)
        return {k: v for k in [f"k{i}" for i in range(12)] if (v := cache.lookup(k)) is not None}

    kept = repo.path.parent / "kept-index"
    append_notes(pr, [(blobs[i], _note(f"k{i}")) for i in range(6)])
    assert set(hits(kept)) == {f"k{i}" for i in range(6)}
    append_notes(pr, [(blobs[6], _note("k6")), (blobs[7], _note("k7", "failed"))])
    append_notes(pr, [(blobs[0], _note("k8"))])  # a second line on an existing note
    incremental = hits(kept)
    assert incremental == hits(repo.path.parent / "fresh-1")
    assert set(incremental) == {f"k{i}" for i in (0, 1, 2, 3, 4, 5, 6, 8)}  # k7 failed
    remove_notes(pr, [blobs[1]])  # a removal: the index must forget k1
    incremental = hits(kept)
    assert incremental == hits(repo.path.parent / "fresh-2")
    assert set(incremental) == {"k0", "k2", "k3", "k4", "k5", "k6", "k8"}
