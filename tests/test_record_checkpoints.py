"""Checkpoint chains and their notes."""

from __future__ import annotations

import json

import pygit2
import pytest
from conftest import Repo
from record_support import make_result

from gatekit.errors import UsageError
from gatekit.record.checkpoints import (
    chain_name_for,
    iter_checkpoints,
    list_chains,
    prune_checkpoints,
    record_checkpoint,
    resolve_checkpoint,
    sanitize_chain,
)
from gatekit.record.notes import append_notes, iter_notes, read_note_lines, read_records
from gatekit.results import Outcome


def _setup(repo: Repo) -> tuple[pygit2.Repository, str, str]:
    pr = pygit2.Repository(str(repo.path))
    head = repo.git("rev-parse", "HEAD").strip()
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    return pr, head, tree


def test_record_and_walk_chain(repo: Repo) -> None:
    pr, head, tree = _setup(repo)
    ids = [
        record_checkpoint(
            pr, "main", tree, head, make_result(tree, head, {"lint": Outcome.PASSED, "unit": o})
        )
        for o in (Outcome.PASSED, Outcome.FAILED, Outcome.PASSED)
    ]
    cps = list(iter_checkpoints(pr, "main"))
    assert [c.id for c in cps] == ids[::-1]
    assert [c.verdict for c in cps] == ["passed", "failed", "passed"]
    # first parent = previous checkpoint, then the base; the first one's only parent is the base
    c2 = pr[ids[2]]
    assert [str(p) for p in c2.parent_ids] == [ids[1], head]
    assert [str(p) for p in pr[ids[0]].parent_ids] == [head]
    assert str(c2.tree_id) == tree
    rec = read_records(pr, ids[1])[0]
    assert rec.checkpoint == ids[1] and rec.chain == "main"
    assert rec.gates[1].outcome is Outcome.FAILED
    # git itself reads the note, one canonical JSON record per line
    shown = repo.git("notes", "--ref=gatekit", "show", ids[1]).splitlines()
    assert len(shown) == 1 and json.loads(shown[0])["checkpoint"] == ids[1]
    repo.git("fsck", "--strict")


def test_resolve_checkpoint_forms(repo: Repo) -> None:
    pr, head, tree = _setup(repo)
    ids = [record_checkpoint(pr, "main", tree, head, make_result(tree, head)) for _ in range(3)]
    assert resolve_checkpoint(pr, "main").id == ids[2]
    assert resolve_checkpoint(pr, "main~2").id == ids[0]
    assert resolve_checkpoint(pr, ids[1]).id == ids[1]
    assert resolve_checkpoint(pr, ids[1][:10]).id == ids[1]
    with pytest.raises(UsageError):
        resolve_checkpoint(pr, "main~9")
    with pytest.raises(UsageError):
        resolve_checkpoint(pr, head)  # a commit, but no checkpoint
    with pytest.raises(UsageError):
        resolve_checkpoint(pr, "nosuchchain")


def test_chain_names(repo: Repo) -> None:
    pr, _head, _tree = _setup(repo)
    assert chain_name_for(pr, None) == "main"
    repo.git("checkout", "-q", "--detach")
    assert chain_name_for(pr, None) == "detached"
    assert sanitize_chain("main") == "main"
    names = {
        sanitize_chain(n)
        for n in ("Main", "main", "MAIN", "feature/x", "feature-x", "a..b", "x.lock", "-")
    }
    assert len(names) == 8  # no collisions, case-only ones included
    for n in names:
        assert pygit2.reference_is_valid_name("refs/gatekit/checkpoints/" + n)
        assert n == n.lower() and "/" not in n
    assert chain_name_for(pr, "Feature/Login") == sanitize_chain("Feature/Login")


def test_no_absolute_paths_in_records(repo: Repo) -> None:
    pr, head, tree = _setup(repo)
    res = make_result(tree, head, log_prefix=str(repo.path) + "/")
    cp = record_checkpoint(pr, "main", tree, head, res)
    line = read_note_lines(pr, cp)[0]
    assert str(repo.path) not in line
    assert read_records(pr, cp)[0].gates[0].log == "logs/lint.log"


def test_append_batches_and_reads_fanout(repo: Repo) -> None:
    pr, _head, _tree = _setup(repo)
    blobs = [str(pr.create_blob(f"obj {i}".encode())) for i in range(50)]
    before = repo.git("rev-list", "--count", "--all").strip()
    append_notes(pr, [(b, json.dumps({"i": i})) for i, b in enumerate(blobs)])
    append_notes(
        pr, [(blobs[0], '{"i": "again"}'), (blobs[0], '{"i": 0}')]
    )  # duplicate line not re-added
    assert read_note_lines(pr, blobs[0]) == ['{"i": 0}', '{"i": "again"}']
    assert (
        int(repo.git("rev-list", "--count", "refs/notes/gatekit").strip()) == 2
    )  # one commit per batch
    assert before  # silence unused
    # Build a fan-out notes tree with git itself and read it back.
    for i in range(3):
        repo.git("notes", "--ref=fan", "add", "-m", f"line {i}", blobs[i])
    # force fan-out layout by rewriting the tree: xx/yyyy
    tip = pr.references["refs/notes/fan"].peel(pygit2.Commit)
    tb = pr.TreeBuilder()
    groups: dict[str, pygit2.TreeBuilder] = {}
    for e in tip.tree:
        groups.setdefault(e.name[:2], pr.TreeBuilder()).insert(e.name[2:], e.id, e.filemode)
    for k, sub in groups.items():
        tb.insert(k, sub.write(), pygit2.enums.FileMode.TREE)
    sig = pygit2.Signature("t", "t@example.invalid")
    c = pr.create_commit(None, sig, sig, "fanout", tb.write(), [tip.id])
    pr.references["refs/notes/fan"].set_target(c)
    assert repo.git("notes", "--ref=fan", "show", blobs[1]).strip() == "line 1"
    assert read_note_lines(pr, blobs[1], "refs/notes/fan") == ["line 1"]
    assert len(list(iter_notes(pr, "refs/notes/fan"))) == 3
    append_notes(pr, [(blobs[1], "line 1b"), (blobs[7], "new")], "refs/notes/fan")
    assert repo.git("notes", "--ref=fan", "show", blobs[1]).splitlines() == ["line 1", "line 1b"]
    assert repo.git("notes", "--ref=fan", "show", blobs[7]).strip() == "new"
    assert read_note_lines(pr, blobs[7], "refs/notes/fan") == ["new"]


def test_notes_fan_out_once_the_top_level_is_full(repo: Repo) -> None:
    """Crossing FANOUT_AT flat notes moves every note under ab/ directories (git reads them
    all, with their appended lines); later writes stay under the directories."""
    from gatekit.record.notes import FANOUT_AT

    pr, _head, _tree = _setup(repo)
    blobs = [str(pr.create_blob(f"fan {i}".encode())) for i in range(FANOUT_AT + 40)]
    append_notes(pr, [(b, f"first {i}") for i, b in enumerate(blobs[:FANOUT_AT])])
    top = pr.references["refs/notes/gatekit"].peel(pygit2.Commit).tree
    assert len(top) == FANOUT_AT and all(len(e.name) == 40 for e in top)  # still flat
    # one write crosses the limit: an append to an existing flat note and new notes
    append_notes(pr, [(blobs[0], "second 0"), *((b, f"first {i}") for i, b in enumerate(blobs))])
    top = pr.references["refs/notes/gatekit"].peel(pygit2.Commit).tree
    assert all(len(e.name) == 2 and e.type_str == "tree" for e in top)
    append_notes(pr, [(blobs[-1], "later")])
    top = pr.references["refs/notes/gatekit"].peel(pygit2.Commit).tree
    assert all(len(e.name) == 2 for e in top)
    assert len(list(iter_notes(pr))) == len(blobs)
    assert repo.git("notes", "--ref=gatekit", "show", blobs[0]).splitlines() == [
        "first 0",
        "second 0",
    ]
    assert read_note_lines(pr, blobs[-1]) == [f"first {len(blobs) - 1}", "later"]
    listed = repo.git("notes", "--ref=gatekit", "list").splitlines()
    assert sorted(line.split()[1] for line in listed) == sorted(blobs)


def test_prune_keeps_newest_with_notes(repo: Repo) -> None:
    pr, head, tree = _setup(repo)
    for _ in range(5):
        record_checkpoint(pr, "main", tree, head, make_result(tree, head))
    record_checkpoint(pr, "other", tree, None, make_result(tree, None))
    old = [c.id for c in iter_checkpoints(pr, "main")]
    reports = prune_checkpoints(pr, 2)
    by_chain = {r.chain: r for r in reports}
    assert by_chain["main"].removed == 3 and by_chain["other"].removed == 0
    cps = list(iter_checkpoints(pr, "main"))
    assert len(cps) == 2
    assert [by_chain["main"].renamed[o] for o in old[:2]] == [c.id for c in cps]
    for cp in cps:
        recs = cp.records(pr)
        assert len(recs) == 1 and recs[0].checkpoint == cp.id
    for o in old:
        assert read_note_lines(pr, o) == []
    assert set(list_chains(pr)) == {"main", "other"}
    repo.git("fsck", "--strict")
