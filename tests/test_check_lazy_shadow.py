"""A check whose every gate is a cache hit does not materialise the shadow; results are the same."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from conftest import Repo

from gatekit.check.execute import _LazyShadow

CONFIG = """version: 1
gates:
  - id: a
    session: {run: ["true"]}
  - id: b
    session: {run: ["true"]}
"""


def _check(repo: Repo, *args: str) -> dict:  # type: ignore[type-arg]
    proc = repo.gatekit("check", "--staged", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def _shadow_head(repo: Repo) -> str:
    return repo.git("for-each-ref", "--format=%(objectname)", "refs/gatekit/shadow/").strip()


def test_all_cached_run_skips_the_checkout_and_records_the_same_commit(repo: Repo) -> None:
    repo.write("validation.yaml", CONFIG)
    repo.commit("config")
    repo.write("x.txt", "one\n")
    repo.git("add", "x.txt")
    first = _check(repo)
    assert {g["outcome"] for g in first["gates"]} == {"passed"}
    ref_after_first = _shadow_head(repo)

    # next candidate: new commit for the shadow ref; then a fully cached run of it
    repo.write("x.txt", "two\n")
    repo.git("add", "x.txt")
    missed = _check(repo)
    assert {g["outcome"] for g in missed["gates"]} == {"passed"}
    assert _shadow_head(repo) != ref_after_first
    repo.write("x.txt", "one\n")
    repo.git("add", "x.txt")
    cached = _check(repo)
    assert {g["outcome"] for g in cached["gates"]} == {"cached"}
    assert cached["candidate"]["commit"] == first["candidate"]["commit"]
    assert cached["verdict"] == "passed"
    # the shadow was not materialised: its ref still names the other candidate
    assert _shadow_head(repo) == missed["candidate"]["commit"]


def test_a_gate_to_run_materialises_as_before(repo: Repo) -> None:
    repo.write(
        "validation.yaml", CONFIG + '  - id: c\n    cache: false\n    session: {run: ["true"]}\n'
    )
    repo.commit("config")
    first = _check(repo)
    second = _check(repo)
    outcomes = {g["id"]: g["outcome"] for g in second["gates"]}
    assert outcomes == {"a": "cached", "b": "cached", "c": "passed"}
    assert second["candidate"]["commit"] == first["candidate"]["commit"]
    assert _shadow_head(repo) == second["candidate"]["commit"]


def test_lazy_shadow_materialises_once(tmp_path: Path) -> None:
    calls: list[int] = []

    class Real:
        path = tmp_path
        resets = 0

        def reset(self) -> None:
            Real.resets += 1

    def materialise() -> Real:
        calls.append(1)
        return Real()

    lazy = _LazyShadow(materialise, "c0ffee")  # type: ignore[arg-type]
    assert calls == [] and lazy.commit == "c0ffee"
    threads = [threading.Thread(target=lambda: lazy.path) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lazy.reset()
    assert calls == [1] and lazy.path == tmp_path and Real.resets == 1
