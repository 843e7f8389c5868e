"""Note write throughput: record 1,000 results in a fresh repository.

    .venv/bin/python bench/notes.py [--count 1000] [--batch 100]

Prints three figures: append_notes in batches (the contract: 1,000 under 2 s),
one append_notes call per record, and full record_checkpoint calls (commit +
CAS ref update + note, each under its locks).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--singles", type=int, default=200, help="records for the unbatched figures")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke test (nox -s bench -- quick): 200 records, 50 singles",
    )
    args = ap.parse_args()
    if args.quick:
        args.count, args.singles = min(args.count, 200), min(args.singles, 50)

    import pygit2
    from record_support import make_result

    from gatekit import canonical
    from gatekit.record.checkpoints import record_checkpoint
    from gatekit.record.notes import append_notes, iter_notes

    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["git", "init", "-q", d], check=True)
        repo = pygit2.Repository(d)
        sig = pygit2.Signature("bench", "bench@example.invalid")
        tree = repo.TreeBuilder().write()
        head = repo.create_commit("HEAD", sig, sig, "root", tree, [])
        results = [make_result(str(tree), str(head)) for _ in range(args.count)]
        objs = [str(repo.create_blob(f"object {i}".encode())) for i in range(args.count)]

        t0 = time.perf_counter()
        for start in range(0, args.count, args.batch):
            items = [
                (objs[i], canonical.dumps(results[i].model_dump(mode="json")))
                for i in range(start, min(start + args.batch, args.count))
            ]
            append_notes(repo, items)
        batched = time.perf_counter() - t0
        assert len(list(iter_notes(repo))) == args.count
        print(f"append_notes: {args.count} records in batches of {args.batch}: {batched:.3f} s")

        n = args.singles
        t0 = time.perf_counter()
        for i in range(n):
            append_notes(repo, [(objs[i], f'{{"single":{i}}}')], ref="refs/notes/bench-single")
        single = time.perf_counter() - t0
        print(
            f"append_notes: {n} records one per call: {single:.3f} s ({single / n * 1000:.2f} ms each)"
        )

        t0 = time.perf_counter()
        for i in range(n):
            record_checkpoint(repo, "bench", str(tree), str(head), results[i])
        full = time.perf_counter() - t0
        print(f"record_checkpoint: {n} checkpoints: {full:.3f} s ({full / n * 1000:.2f} ms each)")
    return 0 if batched < 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
