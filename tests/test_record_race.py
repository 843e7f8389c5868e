"""Concurrency: 8 writers of checkpoints + notes, and promotion against a moving target."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pygit2
import pytest
from conftest import ROOT, Repo

from gatekit.errors import TargetMovedError
from gatekit.record.checkpoints import iter_checkpoints
from gatekit.record.notes import iter_notes, read_records
from gatekit.record.promote import promote_ref

WRITER = """
import sys
sys.path[:0] = [sys.argv[2], sys.argv[2] + "/tests"]
import pygit2
from record_support import make_result
from gatekit.record.checkpoints import record_checkpoint
repo = pygit2.Repository(sys.argv[1])
chain, n = sys.argv[3], int(sys.argv[4])
head = str(repo.head.target)
tree = str(repo.head.peel(pygit2.Commit).tree_id)
for i in range(n):
    cp = record_checkpoint(repo, chain, tree, head, make_result(tree, head, run_id=f"{chain}-{sys.argv[5]}-{i}"))
    print(cp, flush=True)
"""


@pytest.mark.slow
def test_eight_concurrent_writers(repo: Repo) -> None:
    per_proc = 8
    specs = [("shared", k) for k in range(4)] + [(f"own{k}", k) for k in range(4)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(repo.path), str(ROOT), chain, str(per_proc), str(k)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for chain, k in specs
    ]
    written: dict[str, list[str]] = {}
    for (chain, _k), p in zip(specs, procs, strict=True):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        written.setdefault(chain, []).extend(out.split())
    pr = pygit2.Repository(str(repo.path))
    for chain, ids in written.items():
        on_chain = [c.id for c in iter_checkpoints(pr, chain)]
        assert sorted(on_chain) == sorted(ids), chain  # nothing lost, nothing extra
        for cp in on_chain:
            recs = read_records(pr, cp)
            assert len(recs) == 1 and recs[0].checkpoint == cp and recs[0].chain == chain
    assert len(written["shared"]) == 4 * per_proc
    assert len(list(iter_notes(pr))) == 8 * per_proc
    repo.git("fsck", "--strict", "--no-dangling")
    git_dir = Path(pr.path)
    assert not list(git_dir.rglob("*.lock"))
    assert not list((git_dir / "gatekit" / "locks").glob("*.owner"))


MOVER = """
import subprocess, sys, time
for line in sys.stdin:
    delay, ref, new, old = line.split()
    time.sleep(float(delay))
    rc = subprocess.run(["git", "update-ref", ref, new, old], capture_output=True).returncode
    print("ok" if rc == 0 else "fail", flush=True)
"""


def test_promotion_never_overwrites_a_moved_target(repo: Repo) -> None:
    pr = pygit2.Repository(str(repo.path))
    ref = "refs/heads/target"
    repo.git("update-ref", ref, "HEAD")
    sig = pygit2.Signature("t", "t@example.invalid")
    mover = subprocess.Popen(
        [sys.executable, "-c", MOVER],
        cwd=repo.path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert mover.stdin is not None and mover.stdout is not None
    rng = random.Random(5)
    outcomes = {"promoted": 0, "moved": 0}
    try:
        for trial in range(100):
            base = str(pr.references[ref].target)
            tree = pr[base].peel(pygit2.Commit).tree_id
            tested = str(
                pr.create_commit(None, sig, sig, f"tested {trial}", tree, [pygit2.Oid(hex=base)])
            )
            other = str(
                pr.create_commit(None, sig, sig, f"other {trial}", tree, [pygit2.Oid(hex=base)])
            )
            mover.stdin.write(f"{rng.uniform(0, 0.004):.4f} {ref} {other} {base}\n")
            mover.stdin.flush()
            time.sleep(rng.uniform(0, 0.004))
            try:
                promote_ref(pr, ref, base, tested)
                promoted = True
            except TargetMovedError:
                promoted = False
            moved = mover.stdout.readline().strip() == "ok"
            final = str(pr.references[ref].target)
            assert promoted != moved, f"trial {trial}: promoted={promoted} moved={moved}"
            assert final == (tested if promoted else other)
            outcomes["promoted" if promoted else "moved"] += 1
    finally:
        mover.stdin.close()
        mover.wait(timeout=10)
        mover.stdout.close()
    assert sum(outcomes.values()) == 100
    assert outcomes["promoted"] > 0 and outcomes["moved"] > 0, outcomes  # both races exercised
    assert not (Path(pr.path) / "refs" / "heads" / "target.lock").exists()


def test_promotion_threads_against_each_other(repo: Repo) -> None:
    """Two promoters from the same base: exactly one wins."""
    pr_path = str(repo.path)
    base = repo.git("rev-parse", "HEAD").strip()
    repo.git("update-ref", "refs/heads/t2", base)
    results: list[str] = []

    def promote(i: int) -> None:
        r = pygit2.Repository(pr_path)
        sig = pygit2.Signature("t", "t@example.invalid")
        c = str(
            r.create_commit(
                None, sig, sig, f"c{i}", r[base].peel(pygit2.Commit).tree_id, [pygit2.Oid(hex=base)]
            )
        )
        try:
            promote_ref(r, "refs/heads/t2", base, c)
            results.append(c)
        except TargetMovedError:
            results.append("moved")

    threads = [threading.Thread(target=promote, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r != "moved"]
    assert len(winners) == 1
    assert repo.git("rev-parse", "refs/heads/t2").strip() == winners[0]
