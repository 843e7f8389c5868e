"""Sharding over a CI matrix: the plan as a matrix, one shard per runner, collect.

Three clones stand in for three runners; they exchange notes through a local bare
remote, as CI runners do through the repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from check_support import explain, gate, write_config
from conftest import Repo, git

from gatekit.config.loader import LoadedConfig
from gatekit.config.models import ValidationConfig
from gatekit.plan.compile import compile_plan, make_context
from gatekit.plan.shards import assign, github_matrix


def _plan(gates: list[dict[str, Any]]) -> Any:
    config = ValidationConfig.model_validate(
        {"version": 1, "gates": [{"session": {"run": ["true"]}, **g} for g in gates]},
        strict=False,
    )
    loaded = LoadedConfig(config=config, policies=(), source="test")
    return compile_plan(loaded, make_context(config, "ci", "main", None, {}))


def test_shards_keep_needs_together_and_balance_recorded_durations() -> None:
    plan = _plan(
        [
            {"id": "lint"},
            {"id": "unit", "needs": ["lint"]},
            {"id": "e2e"},
            {"id": "docs"},
            {"id": "types"},
        ]
    )
    durations = {"lint": 10.0, "unit": 50.0, "e2e": 55.0, "docs": 5.0, "types": 20.0}
    shards = assign(plan, durations, 3)
    assert shards == [("lint", "unit"), ("e2e",), ("docs", "types")]
    assert assign(plan, durations, 3) == shards  # deterministic
    assert json.loads(github_matrix(plan, durations, 3)) == {
        "include": [
            {"shard": "1/3", "gates": "lint unit"},
            {"shard": "2/3", "gates": "e2e"},
            {"shard": "3/3", "gates": "docs types"},
        ]
    }
    # more shards than units: the empty ones are left out of the matrix
    assert len(json.loads(github_matrix(plan, durations, 9))["include"]) == 4


def _project(repo: Repo) -> None:
    write_config(
        repo,
        [
            gate("lint", "print('lint ok')"),
            gate("unit", "print('unit ok')", needs=["lint"]),
            gate("e2e", "import sys; print('e2e broke'); sys.exit(3)"),
            gate("style", "import sys; sys.exit(1)", required=False),
            gate("docs", "print('docs')", type="conditional", when={"env": "RUN_DOCS"}),
            gate("types", "print('types ok')"),
            {"id": "markers", "builtin": "conflict-markers"},
        ],
    )
    repo.write("src/app.py", "print('app')\n")
    repo.commit("project")


def _clone(tmp: Path, remote: Path, name: str) -> Repo:
    path = tmp / name
    git(tmp, "clone", "-q", str(remote), str(path))
    return Repo(path)


def _outcomes(doc: dict[str, Any]) -> dict[str, str]:
    return {g["id"]: g["outcome"] for g in doc["gates"]}


def test_three_sharded_runners_agree_with_one_run(repo: Repo, tmp_path: Path) -> None:
    _project(repo)
    remote = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(remote))
    planner = _clone(tmp_path, remote, "planner")
    proc = planner.gatekit("plan", "--event", "ci", "--format", "github-matrix", "--shards", "3")
    assert proc.returncode == 0, explain(proc)
    matrix = json.loads(proc.stdout)["include"]
    assert len(matrix) == 3
    planned = sorted(g for entry in matrix for g in entry["gates"].split())
    assert planned == ["e2e", "lint", "markers", "style", "types", "unit"]  # docs: skipped
    assert any(entry["gates"].split()[:2] == ["lint", "unit"] for entry in matrix)
    codes = []
    for entry in matrix:
        k = entry["shard"].split("/")[0]
        runner = _clone(tmp_path, remote, f"runner{k}")
        proc = runner.gatekit(
            "check",
            "--plain",
            "--json",
            "--event",
            "ci",
            "--rev",
            "HEAD",
            "--shard",
            entry["shard"],
            "--shard-gates",
            entry["gates"],
        )
        codes.append(proc.returncode)
        doc = json.loads(proc.stdout)
        assert doc["shard"] == entry["shard"]
        mine = set(entry["gates"].split())
        for g in doc["gates"]:
            if g["id"] not in mine and g["id"] != "docs":
                assert g == g | {"outcome": "skipped"}
                assert g["reason"] == f"in another shard (this run checks shard {entry['shard']})"
        assert "skipped by --skip" not in proc.stderr  # the table says why, too
        push = runner.gatekit("push", "origin")
        assert push.returncode == 0, explain(push)
    assert sorted(codes) == [0, 0, 1]  # only e2e's shard fails
    collector = _clone(tmp_path, remote, "collector")
    proc = collector.gatekit("collect", "--json", "--event", "ci", "--rev", "HEAD")
    combined = json.loads(proc.stdout)
    assert "combined 3 shard record(s) (1/3, 2/3, 3/3)" in proc.stderr, explain(proc)

    single = _clone(tmp_path, remote, "single")
    single.git("update-ref", "-d", "refs/notes/gatekit", check=False)
    one = single.gatekit(
        "check", "--plain", "--json", "--event", "ci", "--rev", "HEAD", "--no-cache"
    )
    alone = json.loads(one.stdout)
    assert proc.returncode == one.returncode == 1, explain(proc) + explain(one)
    assert combined["verdict"] == alone["verdict"] == "failed"
    assert combined["plan_id"] == alone["plan_id"]
    assert (
        _outcomes(combined)
        == _outcomes(alone)
        == {
            "lint": "passed",
            "unit": "passed",
            "e2e": "failed",
            "style": "failed",
            "docs": "skipped",
            "types": "passed",
            "markers": "passed",
        }
    )


def test_collect_reports_a_shard_that_never_recorded(repo: Repo, tmp_path: Path) -> None:
    _project(repo)
    remote = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(remote))
    runner = _clone(tmp_path, remote, "runner1")
    proc = runner.gatekit(
        "check",
        "--plain",
        "--event",
        "ci",
        "--rev",
        "HEAD",
        "--shard",
        "1/2",
        "--shard-gates",
        "lint unit",
    )
    assert proc.returncode == 0, explain(proc)
    assert runner.gatekit("push", "origin").returncode == 0
    collector = _clone(tmp_path, remote, "collector")
    proc = collector.gatekit("collect", "--json", "--event", "ci", "--rev", "HEAD")
    assert proc.returncode == 1, explain(proc)
    doc = json.loads(proc.stdout)
    assert _outcomes(doc)["lint"] == "passed"
    e2e = next(g for g in doc["gates"] if g["id"] == "e2e")
    assert e2e["outcome"] == "error"
    assert e2e["reason"].startswith("no shard recorded a result for this gate")
    assert "no shard recorded: e2e, style, types, markers" in proc.stderr


def test_bad_shard_is_a_usage_error(repo: Repo) -> None:
    proc = repo.gatekit("check", "--shard", "4/3")
    assert proc.returncode == 2
    assert "gatekit: error: --shard '4/3': expected K/N with 1 <= K <= N" in proc.stderr
