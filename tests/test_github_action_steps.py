"""The composite action's own shell step, run with bash as the runner would run it
(inputs arrive as environment variables), on recorded events: check, a matrix of
shards, each shard, and collect from the shards' git bundles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from check_support import explain, gate, write_config
from conftest import ROOT, Repo, git
from github_support import ci_env, commands, payload, read_outputs


def _step_script() -> str:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    assert "${{" not in step["run"]  # inputs come through env, never pasted into the script
    return str(step["run"])


def _step(cwd: Path, env: dict[str, str], **inputs: str) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ) | env
    full["PATH"] = os.path.dirname(sys.executable) + os.pathsep + full.get("PATH", "")
    for key in ("COMMAND", "ARGS", "STATUSES", "SHARDS", "SHARD", "SHARD_GATES", "BUNDLES"):
        full[key] = inputs.get(key.lower(), "")
    return subprocess.run(
        ["bash", "-e", "-c", _step_script()],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_action_step_checks_plans_shards_and_collects(repo: Repo, tmp_path: Path) -> None:
    write_config(
        repo,
        [
            gate("lint", "print('lint')"),
            gate("unit", "print('unit')", needs=["lint"]),
            gate("e2e", "import sys; print('e2e broke'); sys.exit(1)"),
        ],
    )
    before = repo.commit("config")
    repo.write("src/a.py", "x = 1\n")
    after = repo.commit("change")
    event = payload(tmp_path, "push", before=before, head=after)
    env = ci_env(tmp_path, "push", event, sha=after)

    single = _step(repo.path, env, command="check", args="--jobs 1 --fail-fast")
    assert single.returncode == 1, explain(single)
    assert read_outputs(tmp_path / "gh" / "output")["verdict"] == "failed"
    errors = [c for c in commands(single.stderr) if c.name == "error"]
    assert [c.props.get("title") for c in errors] == ["gatekit: e2e"]

    (tmp_path / "gh" / "output").unlink()
    planned = _step(repo.path, env, command="matrix", shards="2")
    assert planned.returncode == 0, explain(planned)
    matrix = json.loads(read_outputs(tmp_path / "gh" / "output")["matrix"])
    assert sorted(e["gates"] for e in matrix["include"]) == ["e2e", "lint unit"]

    bundles = tmp_path / "bundles"
    bundles.mkdir()
    for entry in matrix["include"]:
        k = entry["shard"].split("/")[0]
        runner = Repo(tmp_path / f"runner{k}")
        git(tmp_path, "clone", "-q", str(repo.path), str(runner.path))
        proc = _step(
            runner.path, env, command="check", shard=entry["shard"], shard_gates=entry["gates"]
        )
        assert proc.returncode == (1 if entry["gates"] == "e2e" else 0), explain(proc)
        runner.git("bundle", "create", str(bundles / f"shard-{k}.bundle"), "refs/notes/gatekit")
    collector = Repo(tmp_path / "collector")
    git(tmp_path, "clone", "-q", str(repo.path), str(collector.path))
    (tmp_path / "gh" / "output").unlink()
    proc = _step(collector.path, env, command="collect", bundles=str(bundles))
    assert proc.returncode == 1, explain(proc)
    assert "combined 2 shard record(s) (1/2, 2/2)" in proc.stderr
    outputs = read_outputs(tmp_path / "gh" / "output")
    assert outputs["verdict"] == "failed"
    summary = (tmp_path / "gh" / "summary.md").read_text()
    assert "## :x: gatekit (all shards): failed" in summary
    assert "| `lint` | :white_check_mark: passed |" in summary
    assert "| `e2e` | :x: failed |" in summary

    bad = _step(repo.path, env, command="lint")
    assert bad.returncode == 2
    assert "::error title=gatekit::unknown command 'lint' (check, matrix or collect)" in bad.stdout


def _envkey(repo: Repo, tmp_path: Path) -> str:
    """The action's "Key of gatekit's environments" step, run as the runner runs it."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "envkey")
    cache = next(
        s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/cache")
    )
    assert "steps.envkey.outputs.key" in cache["with"]["key"]
    out = tmp_path / f"output-{len(list(tmp_path.glob('output-*')))}"
    env = dict(os.environ, GITHUB_OUTPUT=str(out))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=repo.path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    key = read_outputs(out)["key"]
    assert len(key) == 64 and int(key, 16) >= 0, key
    return key


def test_the_environment_cache_is_keyed_by_what_declares_the_environments(
    repo: Repo, tmp_path: Path
) -> None:
    """The key changes with an environment's deps, a requirement file it reads, or a file of
    a local package it installs; not with a source file no environment is built from."""
    repo.write("pkg/pyproject.toml", '[project]\nname = "pkg"\nversion = "1"\n')
    repo.write("pkg/pkg/__init__.py", "")
    repo.write("requirements.txt", "iniconfig\n")
    repo.write("src/app.py", "print('app')\n")

    def config(deps: list[str]) -> None:
        gates = [{"id": "t", "session": {"deps": deps, "run": ["true"]}}, gate("plain", "pass")]
        write_config(repo, gates)
        repo.commit("config")

    config(["./pkg", "-r requirements.txt", "pytest"])
    first = _envkey(repo, tmp_path)
    assert _envkey(repo, tmp_path) == first  # nothing built, nothing random

    repo.write("src/app.py", "print('app 2')\n")
    repo.commit("an unrelated change")
    assert _envkey(repo, tmp_path) == first

    repo.write("pkg/pkg/__init__.py", "VALUE = 1\n")
    repo.commit("the local package changes")
    second = _envkey(repo, tmp_path)
    assert second != first

    repo.write("requirements.txt", "iniconfig>=2\n")
    repo.commit("a requirement file changes")
    third = _envkey(repo, tmp_path)
    assert third not in (first, second)

    config(["./pkg", "-r requirements.txt", "pytest", "coverage"])
    assert _envkey(repo, tmp_path) not in (first, second, third)
