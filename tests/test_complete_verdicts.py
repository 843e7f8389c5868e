"""Complete verdicts (issue 10, item 4): ``--all``, CI events that never skip on
``paths``, and the pre-push hook checking the whole pushed range through a real
``git push`` to a local bare remote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from check_support import check_json, explain, gate, gate_of, outcomes, write_config
from conftest import Repo, git

# src/a.txt must say "ok": the gate fails with exit 3 otherwise (its reason names it).
SRC_OK = "import sys; sys.exit(0 if open('src/a.txt').read().strip() == 'ok' else 3)"
GATES = [
    gate("src", SRC_OK, paths=["src/**"]),
    gate("docs", "pass", paths=["*.md"]),
]


@pytest.fixture
def project(repo: Repo) -> Repo:
    write_config(repo, GATES)
    repo.write("src/a.txt", "ok\n")
    repo.write("doc.md", "doc\n")
    repo.commit("project")
    return repo


def _plan(repo: Repo, *args: str) -> dict[str, dict[str, str]]:
    proc = repo.gatekit("plan", "--json", *args)
    assert proc.returncode == 0, explain(proc)
    doc = json.loads(proc.stdout)
    return {g["id"]: {"decision": g["decision"], "reason": g["reason"]} for g in doc["gates"]}


def test_clean_tree_skips_on_paths_but_all_runs_every_gate(project: Repo) -> None:
    _, doc = check_json(project, "--worktree", expect=0)
    assert outcomes(doc) == {"src": "skipped", "docs": "skipped"}
    assert "no changed path matches paths ['src/**']" in gate_of(doc, "src")["reason"]
    assert "--all runs it" in gate_of(doc, "src")["reason"]

    _, doc = check_json(project, "--worktree", "--all", "--no-cache", expect=0)
    assert outcomes(doc) == {"src": "passed", "docs": "passed"}
    assert doc["context"]["all_paths"] is True


def test_all_runs_a_gate_that_fails_on_an_unchanged_path(project: Repo) -> None:
    project.write("src/a.txt", "broken\n")
    project.commit("break src")
    project.write("doc.md", "doc 2\n")
    project.commit("docs only")
    # --staged: the candidate changes nothing against HEAD, so src would be skipped ...
    _, doc = check_json(project, "--staged", expect=0)
    assert gate_of(doc, "src")["outcome"] == "skipped"
    # ... but --all runs it and it fails for its own reason, not for an environment error.
    _, doc = check_json(project, "--staged", "--all", expect=1)
    src = gate_of(doc, "src")
    assert src["outcome"] == "failed", src
    assert "exited with 3" in src["reason"]


def test_all_makes_builtins_examine_every_file(project: Repo) -> None:
    write_config(project, [{"id": "markers", "builtin": "conflict-markers"}])
    project.write("old.txt", "<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> other\n")
    project.commit("an old conflict")
    project.write("doc.md", "doc 3\n")
    project.commit("unrelated")
    _, doc = check_json(project, "--rev", "HEAD", expect=0)
    assert gate_of(doc, "markers")["outcome"] == "passed"  # only doc.md changed
    _, doc = check_json(project, "--rev", "HEAD", "--all", expect=1)
    markers = gate_of(doc, "markers")
    assert markers["outcome"] == "failed"
    assert {f["path"] for f in markers["findings"]} == {"old.txt"}


def test_ci_check_never_skips_a_change_two_commits_back(project: Repo) -> None:
    project.write("src/a.txt", "broken\n")
    project.commit("break src")  # two commits back from HEAD
    project.write("doc.md", "doc 2\n")
    project.commit("docs")
    project.write("doc.md", "doc 3\n")
    project.commit("more docs")
    plan = _plan(project, "--event", "ci")
    assert plan["src"]["decision"] == "run"
    assert "complete verdict for event 'ci'" in plan["src"]["reason"]
    _, doc = check_json(project, "--event", "ci", expect=1)
    assert gate_of(doc, "src")["outcome"] == "failed"
    assert "exited with 3" in gate_of(doc, "src")["reason"]


def test_ci_check_of_unchanged_inputs_is_cached_not_skipped(project: Repo) -> None:
    _, first = check_json(project, "--event", "ci", expect=0)
    assert outcomes(first) == {"src": "passed", "docs": "passed"}
    project.write("doc.md", "doc 2\n")
    project.commit("docs")
    _, doc = check_json(project, "--event", "ci", expect=0)
    src = gate_of(doc, "src")
    assert src["outcome"] == "cached", src
    assert src["reason"].startswith("passed on the same inputs at checkpoint")
    assert gate_of(doc, "docs")["outcome"] == "passed"


@pytest.mark.parametrize("event", ["ci", "pull_request", "merge"])
def test_complete_events_plan_every_auto_gate(project: Repo, event: str) -> None:
    plan = _plan(project, "--event", event, "--changed", "doc.md")
    assert plan["src"]["decision"] == "run"
    assert f"complete verdict for event '{event}'" in plan["src"]["reason"]


@pytest.mark.parametrize("event", ["pre-commit", "pre-push", "manual"])
def test_hook_events_keep_the_fast_skip(project: Repo, event: str) -> None:
    plan = _plan(project, "--event", event, "--changed", "doc.md")
    assert plan["src"]["decision"] == "skip"
    assert f"hook-time shortcut of event '{event}'" in plan["src"]["reason"]
    plan = _plan(project, "--event", event, "--changed", "doc.md", "--all")
    assert plan["src"] == {"decision": "run", "reason": "auto: --all plans every path as changed"}


def test_all_fires_conditional_changed_triggers(project: Repo) -> None:
    write_config(
        project,
        [
            {
                "id": "web",
                "type": "conditional",
                "when": {"changed": ["web/**"]},
                "session": GATES[1]["session"],
            }
        ],
    )
    assert _plan(project, "--changed", "doc.md")["web"]["decision"] == "skip"
    web = _plan(project, "--changed", "doc.md", "--all")["web"]
    assert web["decision"] == "run"
    assert "--all: every path counts as changed" in web["reason"]


def test_plan_explain_names_the_rule(project: Repo) -> None:
    proc = project.gatekit("plan", "--explain", "--event", "ci", "--changed", "doc.md")
    assert proc.returncode == 0, explain(proc)
    assert "why: auto: complete verdict for event 'ci'" in proc.stdout
    proc = project.gatekit("plan", "--explain", "--all")
    assert "--all (every path counts as changed)" in proc.stdout
    assert "why: auto: --all plans every path as changed" in proc.stdout


# --- the pre-push hook, through a real git push ------------------------------------


@pytest.fixture
def pushing(project: Repo, tmp_path: Path) -> Repo:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    project.git("remote", "add", "origin", str(remote))
    project.git("push", "-q", "origin", "main")
    project.git("fetch", "-q", "origin")
    project.git("remote", "set-head", "origin", "main")
    proc = project.gatekit("hook", "install", "--hook", "pre-push")
    assert proc.returncode == 0, explain(proc)
    return project


def _push(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", *args], cwd=repo.path, capture_output=True, text=True, timeout=300
    )


def _remote_tip(repo: Repo, ref: str) -> str:
    out = repo.git("ls-remote", "origin", ref).split()
    return out[0] if out else ""


def _three_commits_first_breaking_src(repo: Repo) -> None:
    repo.write("src/a.txt", "broken\n")
    repo.commit("break src")
    repo.write("doc.md", "doc 2\n")
    repo.commit("docs")
    repo.write("doc.md", "doc 3\n")
    repo.commit("more docs")


def test_pre_push_checks_the_whole_pushed_range(pushing: Repo) -> None:
    before = _remote_tip(pushing, "refs/heads/main")
    _three_commits_first_breaking_src(pushing)
    proc = _push(pushing, "origin", "main")
    assert proc.returncode != 0, proc.stderr
    assert "refs/heads/main -> refs/heads/main: what the remote had" in proc.stderr
    assert "src   failed" in proc.stderr and "exited with 3" in proc.stderr, proc.stderr
    assert _remote_tip(pushing, "refs/heads/main") == before  # nothing landed

    pushing.write("src/a.txt", "ok\n")
    pushing.commit("fix src")
    proc = _push(pushing, "origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert _remote_tip(pushing, "refs/heads/main") == pushing.git("rev-parse", "HEAD").strip()


def test_pre_push_new_branch_is_compared_with_the_default_branch(pushing: Repo) -> None:
    pushing.git("checkout", "-q", "-b", "feature")
    _three_commits_first_breaking_src(pushing)
    proc = _push(pushing, "origin", "feature")
    assert proc.returncode != 0, proc.stderr
    assert "forked from origin's default branch" in proc.stderr
    assert "src   failed" in proc.stderr, proc.stderr


def test_pre_push_without_a_known_default_branch_checks_everything(
    pushing: Repo, tmp_path: Path
) -> None:
    # Pushing to a URL: no remote-tracking refs, so the new branch is checked with --all,
    # and a broken file the range did not even touch is found.
    pushing.write("src/a.txt", "broken\n")
    pushing.commit("break src")
    pushing.git("push", "-q", "--no-verify", "origin", "main")
    pushing.git("checkout", "-q", "-b", "topic")
    pushing.write("doc.md", "doc 9\n")
    pushing.commit("docs on topic")
    other = tmp_path / "other.git"
    git(tmp_path, "init", "-q", "--bare", str(other))
    proc = _push(pushing, str(other), "topic")
    assert proc.returncode != 0, proc.stderr
    assert "checked with --all" in proc.stderr
    assert "src   failed" in proc.stderr, proc.stderr


def test_pre_push_deleting_a_ref_checks_nothing(pushing: Repo) -> None:
    pushing.git("push", "-q", "--no-verify", "origin", "main:old")
    proc = _push(pushing, "origin", ":old")
    assert proc.returncode == 0, proc.stderr
    assert "nothing to check" in proc.stderr


def test_pre_push_hook_script_runs_this_interpreter(pushing: Repo) -> None:
    text = (pushing.path / ".git" / "hooks" / "pre-push").read_text()
    assert f"{sys.executable} -m gatekit pre-push" in text
