"""The result cache seen through ``gatekit check`` (issue 6, item 5).

Every gate appends to its own counter file outside the repository, so a test
can tell "outcome cached" from "really did not run".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from check_support import check_json, gate, gate_of, outcomes, write_config
from conftest import Repo


class Counters:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(exist_ok=True)

    def path(self, gid: str) -> Path:
        return self.root / gid

    def code(self, gid: str, extra: str = "") -> str:
        return f"open({str(self.path(gid))!r}, 'a').write('x'){extra}"

    def runs(self) -> dict[str, int]:
        return {p.name: len(p.read_text()) for p in sorted(self.root.iterdir())}


@pytest.fixture
def counters(tmp_path: Path) -> Counters:
    return Counters(tmp_path / "counters")


def five_gates(c: Counters) -> list[dict[str, Any]]:
    return [
        gate("src", c.code("src"), paths=["src/**"]),
        gate("docs", c.code("docs"), paths=["docs/**"]),
        gate("tests", c.code("tests"), paths=["tests/**", "src/**"]),
        gate("whole", c.code("whole")),  # no paths: the whole tree is its input
        gate("json", c.code("json"), paths=["*.json"]),
    ]


def seed(repo: Repo, gates: list[dict[str, Any]]) -> None:
    """Committed config and files, then a change in every gate's paths (a gate whose paths
    match no changed file is skipped, so the candidate must touch all of them)."""
    for rel in ("src/app.py", "docs/index.md", "tests/test_app.py", "settings.json"):
        repo.write(rel, "base\n")
    write_config(repo, gates)
    repo.commit("seed")
    repo.write("src/app.py", "print('app')\n")
    repo.write("docs/index.md", "# docs\n")
    repo.write("tests/test_app.py", "def test(): pass\n")
    repo.write("settings.json", "{}\n")


def test_second_check_on_unchanged_candidate_is_all_cached(repo: Repo, counters: Counters) -> None:
    seed(repo, five_gates(counters))
    _, first = check_json(repo, "--worktree", expect=0)
    assert set(outcomes(first).values()) == {"passed"}
    assert counters.runs() == {g: 1 for g in ("docs", "json", "src", "tests", "whole")}
    assert all(g["cache_key"] for g in first["gates"])

    _, second = check_json(repo, "--worktree", expect=0)
    assert outcomes(second) == {g: "cached" for g in ("src", "docs", "tests", "whole", "json")}
    assert second["verdict"] == "passed"
    for g in second["gates"]:
        assert g["cached_from"] == first["checkpoint"]
        assert g["cache_key"] == gate_of(first, g["id"])["cache_key"]
        assert g["attempts"] == []
    assert counters.runs() == {g: 1 for g in ("docs", "json", "src", "tests", "whole")}

    # the same tree reached another way (staged, then committed) is the same question
    repo.git("add", "-A")
    _, doc = check_json(repo, "--staged", expect=0)
    assert set(outcomes(doc).values()) == {"cached"}
    assert counters.runs() == {g: 1 for g in ("docs", "json", "src", "tests", "whole")}


def test_change_outside_paths_stays_cached_inside_reruns(repo: Repo, counters: Counters) -> None:
    seed(repo, five_gates(counters))
    check_json(repo, "--worktree", expect=0)

    repo.write("docs/index.md", "# docs, edited\n")
    _, doc = check_json(repo, "--worktree", expect=0)
    assert outcomes(doc) == {
        "src": "cached",
        "docs": "passed",
        "tests": "cached",
        "whole": "passed",
        "json": "cached",
    }
    assert counters.runs() == {"docs": 2, "json": 1, "src": 1, "tests": 1, "whole": 2}

    repo.write("src/app.py", "print('app 2')\n")
    _, doc = check_json(repo, "--worktree", expect=0)
    assert outcomes(doc) == {
        "src": "passed",
        "docs": "cached",
        "tests": "passed",
        "whole": "passed",
        "json": "cached",
    }

    # a new untracked file under src/ is an input of src too
    repo.write("src/extra.py", "x = 1\n")
    _, doc = check_json(repo, "--worktree", expect=0)
    assert outcomes(doc)["src"] == "passed" and outcomes(doc)["docs"] == "cached"
    repo.git("add", "-A")
    _, doc = check_json(repo, "--staged", expect=0)  # the same tree, staged
    assert set(outcomes(doc).values()) == {"cached"}

    # going back to an earlier content is a hit again (the key is content, not history)
    repo.write("docs/index.md", "# docs\n")
    _, doc = check_json(repo, "--worktree", expect=0)
    assert outcomes(doc)["docs"] == "cached"


def test_no_cache_flag_and_cache_false_run_again(repo: Repo, counters: Counters) -> None:
    gates = five_gates(counters)
    gates[0]["cache"] = False
    seed(repo, gates)
    check_json(repo, "--worktree", expect=0)
    _, doc = check_json(repo, "--worktree", expect=0)
    assert outcomes(doc) == {
        "src": "passed",
        "docs": "cached",
        "tests": "cached",
        "whole": "cached",
        "json": "cached",
    }
    assert gate_of(doc, "src")["cache_key"] is None
    _, doc = check_json(repo, "--worktree", "--no-cache", expect=0)
    assert set(outcomes(doc).values()) == {"passed"}
    assert counters.runs() == {"src": 3, "docs": 2, "tests": 2, "whole": 2, "json": 2}
    # defaults.cache: false turns the cache off for every gate
    write_config(repo, gates, defaults={"cache": False})
    check_json(repo, "--worktree", expect=0)
    _, doc = check_json(repo, "--worktree", expect=0)
    assert set(outcomes(doc).values()) == {"passed"}


def test_failures_are_never_cached_as_passes(
    repo: Repo, tmp_path: Path, counters: Counters
) -> None:
    verdict = tmp_path / "verdict"  # outside the repository: not part of any cache key
    verdict.write_text("fail")
    code = counters.code("flip", f"; import sys; sys.exit(open({str(verdict)!r}).read() == 'fail')")
    seed(repo, [gate("flip", code), gate("other", counters.code("other"))])
    for _ in range(2):
        _, doc = check_json(repo, "--worktree", expect=1)
        assert gate_of(doc, "flip")["outcome"] == "failed"
        assert gate_of(doc, "flip")["cache_key"] is None
    assert counters.runs()["flip"] == 2
    assert gate_of(doc, "other")["outcome"] == "cached"  # a failing neighbour does not spoil passes
    verdict.write_text("pass")
    _, doc = check_json(repo, "--worktree", expect=0)
    assert gate_of(doc, "flip")["outcome"] == "passed"
    _, doc = check_json(repo, "--worktree", expect=0)
    assert gate_of(doc, "flip")["outcome"] == "cached"


def test_flaky_pass_is_not_a_cache_entry(repo: Repo, tmp_path: Path, counters: Counters) -> None:
    state = tmp_path / "flaky-state"
    flaky = counters.code(
        "flaky",
        f"; import os, sys; p = {str(state)!r}; first = not os.path.exists(p); open(p, 'w').close(); sys.exit(1 if first else 0)",
    )
    seed(repo, [gate("flaky", flaky, retries={"flaky": 1, "backoff": 0})])
    _, doc = check_json(repo, "--worktree", expect=0)
    g = gate_of(doc, "flaky")
    assert g["outcome"] == "passed" and g["flaky"] is True and len(g["attempts"]) == 2
    assert g["cache_key"] is None
    _, doc = check_json(repo, "--worktree", expect=0)
    assert gate_of(doc, "flaky")["outcome"] == "passed"
    assert gate_of(doc, "flaky")["flaky"] is False
    assert counters.runs()["flaky"] == 3
    # that clean pass is an entry
    _, doc = check_json(repo, "--worktree", expect=0)
    assert gate_of(doc, "flaky")["outcome"] == "cached"


def test_changed_gate_definition_misses_the_cache(repo: Repo, counters: Counters) -> None:
    gates = five_gates(counters)
    seed(repo, gates)
    check_json(repo, "--worktree", expect=0)
    # another command for src, another env for docs, a description change for json (not part of the key)
    gates[0] = gate("src", counters.code("src", "; print('changed')"), paths=["src/**"])
    gates[1] = gate("docs", counters.code("docs"), paths=["docs/**"], env={"MODE": "strict"})
    gates[4] = gate("json", counters.code("json"), paths=["*.json"], description="now described")
    write_config(repo, gates)
    _, doc = check_json(repo, "--worktree", expect=0)
    got = outcomes(doc)
    assert got["src"] == "passed" and got["docs"] == "passed"
    assert got["tests"] == "cached" and got["json"] == "cached"
    assert got["whole"] == "passed"  # validation.yaml is in the whole tree
    # the timeout is part of what the gate is, too
    gates[2] = gate("tests", counters.code("tests"), paths=["tests/**", "src/**"], timeout="17s")
    write_config(repo, gates)
    _, doc = check_json(repo, "--worktree", expect=0)
    assert outcomes(doc)["tests"] == "passed"
    assert outcomes(doc)["src"] == "cached"
