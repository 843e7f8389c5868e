"""``gatekit check --ci`` from recorded GitHub event payloads, one test per event kind:
the candidate and event it checks, the exact workflow-command lines, the job summary
and the step outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from check_support import explain, gate, write_config
from conftest import Repo, git
from github_support import ci_env, commands, payload, read_outputs

MARKERS = "ok\n<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> other\n"


def _config(repo: Repo) -> None:
    write_config(
        repo,
        [
            {"id": "markers", "builtin": "conflict-markers"},
            gate("unit", "print('unit ok')", paths=["src/**"]),
            gate("style", "import sys; print('style says no'); sys.exit(1)", required=False),
            {
                "id": "pr-only",
                "type": "conditional",
                "when": {"event": ["pull_request"], "changed": ["**"]},
                **gate("x", "print('pr gate')"),
            }
            | {"id": "pr-only"},
        ],
    )


def _run(repo: Repo, env: dict[str, str], *args: str) -> tuple[Any, dict[str, Any]]:
    proc = repo.gatekit("check", "--json", *args, env=env)
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(explain(proc)) from None
    return proc, doc


def _gate(doc: dict[str, Any], gid: str) -> dict[str, Any]:
    return dict(next(g for g in doc["gates"] if g["id"] == gid))


def _outcomes(doc: dict[str, Any]) -> dict[str, str]:
    return {g["id"]: g["outcome"] for g in doc["gates"]}


def test_push_checks_after_against_before(repo: Repo, tmp_path: Path) -> None:
    _config(repo)
    repo.write("src/a.py", "x = 1\n")
    before = repo.commit("base")
    repo.write("notes/bad.txt", MARKERS)
    after = repo.commit("adds a conflict")
    event = payload(tmp_path, "push", before=before, head=after)
    env = ci_env(tmp_path, "push", event, sha=after)
    proc, doc = _run(repo, env)
    assert proc.returncode == 1, explain(proc)
    assert doc["context"]["event"] == "ci"
    assert doc["context"]["branch"] == "main"
    assert doc["candidate"]["source"] == "rev"
    assert doc["candidate"]["base"] == before
    assert doc["candidate"]["tree"] == repo.git("rev-parse", f"{after}^{{tree}}").strip()
    assert doc["chain"] == "main"
    out = _outcomes(doc)
    assert out["markers"] == "failed"
    assert out["style"] == "failed"
    assert out["pr-only"] == "skipped"
    assert out["unit"] == "passed"  # a ci verdict is complete: paths never skip a gate
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("::") and "group" not in ln]
    assert lines == [
        "::error file=notes/bad.txt,line=2,title=gatekit%3A markers (conflict-markers)"
        "::merge-conflict marker '<<<<<<<'",
        "::error file=notes/bad.txt,line=4,title=gatekit%3A markers (conflict-markers)"
        "::merge-conflict marker '======='",
        "::error file=notes/bad.txt,line=6,title=gatekit%3A markers (conflict-markers)"
        "::merge-conflict marker '>>>>>>>'",
        "::warning title=gatekit%3A style::failed: " + _gate(doc, "style")["reason"],
    ]
    groups = [c.data for c in commands(proc.stderr) if c.name == "group"]
    assert groups == [
        "gatekit: markers (failed)",
        "gatekit: unit (passed)",
        "gatekit: style (failed)",
    ]
    assert "style says no" in proc.stderr.split("::group::gatekit: style (failed)")[1]
    outputs = read_outputs(tmp_path / "gh" / "output")
    assert outputs == {
        "verdict": "failed",
        "plan-id": doc["plan_id"],
        "checkpoint": doc["checkpoint"],
    }
    summary = (tmp_path / "gh" / "summary.md").read_text()
    assert summary.startswith("## :x: gatekit: failed\n")
    assert "| `markers` | :x: failed |" in summary
    assert "| `style` | :warning: failed (advisory) |" in summary
    assert "### Failures" in summary
    lt = "&lt;" * 7
    assert f"  - `notes/bad.txt:2`: merge-conflict marker '{lt}'" in summary
    assert "Next action:" in summary  # from the runbook reports/<gate>.md


def _pr_repo(repo: Repo) -> tuple[str, str]:
    """main and a feature branch that diverged: (base sha, head sha)."""
    _config(repo)
    repo.write("src/a.py", "x = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "strict-ids")
    repo.write("src/ids.py", "ids = []\n")
    head = repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.write("docs/x.md", "moved on\n")
    base = repo.commit("main moves")
    return base, head


def test_pull_request_checks_the_merge_as_it_would_land(repo: Repo, tmp_path: Path) -> None:
    base, head = _pr_repo(repo)
    event = payload(tmp_path, "pull_request", base=base, head=head, before=base)
    proc, doc = _run(repo, ci_env(tmp_path, "pull_request", event, sha="f" * 40))
    assert proc.returncode == 0, explain(proc)
    merged = repo.git("merge-tree", "--write-tree", base, head).split()[0]
    assert doc["candidate"] == doc["candidate"] | {"source": "merge", "tree": merged, "base": base}
    assert doc["context"]["event"] == "pull_request"
    assert doc["context"]["branch"] == "main"  # the branch it lands on
    assert doc["context"]["changed"] == ["src/ids.py"]
    assert doc["chain"] == "pr-42"
    out = _outcomes(doc)
    assert out["pr-only"] == "passed"  # when: event [pull_request] holds
    assert out["unit"] == "passed"
    assert out["style"] == "failed"
    assert read_outputs(tmp_path / "gh" / "output")["verdict"] == "passed"
    summary = (tmp_path / "gh" / "summary.md").read_text()
    assert summary.startswith("## :white_check_mark: gatekit: passed\n")
    assert "Event `pull_request` on `main`" in summary


def test_pull_request_target_from_a_fork(repo: Repo, tmp_path: Path) -> None:
    base, head = _pr_repo(repo)
    event = payload(tmp_path, "pull_request_target", base=base, head=head, before=base)
    proc, doc = _run(repo, ci_env(tmp_path, "pull_request_target", event, sha=base))
    assert proc.returncode == 0, explain(proc)
    assert doc["context"]["event"] == "pull_request"
    assert doc["candidate"]["source"] == "merge"
    assert _outcomes(doc)["pr-only"] == "passed"


def test_merge_group_checks_the_queue_commit_against_its_base(repo: Repo, tmp_path: Path) -> None:
    base, _head = _pr_repo(repo)
    repo.git("checkout", "-q", "-b", "gh-readonly-queue/main/pr-42")
    repo.git("merge", "-q", "--no-edit", "strict-ids")
    queue = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "main")
    event = payload(tmp_path, "merge_group", base=base, head=queue)
    proc, doc = _run(repo, ci_env(tmp_path, "merge_group", event, sha=queue))
    assert proc.returncode == 0, explain(proc)
    assert doc["context"]["event"] == "merge"
    assert doc["context"]["branch"] == "main"
    assert doc["candidate"]["base"] == base
    assert doc["candidate"]["tree"] == repo.git("rev-parse", f"{queue}^{{tree}}").strip()
    assert doc["context"]["changed"] == ["src/ids.py"]
    assert doc["chain"] == "merge-queue"
    assert _outcomes(doc)["pr-only"] == "skipped"  # the event is merge, not pull_request


def test_workflow_dispatch_and_schedule_check_every_path(repo: Repo, tmp_path: Path) -> None:
    _config(repo)
    repo.write("src/a.py", "x = 1\n")
    repo.commit("base")
    repo.write("docs/only.md", "docs\n")
    sha = repo.commit("docs only")
    for name in ("workflow_dispatch", "schedule"):
        event = payload(tmp_path, name)
        proc, doc = _run(repo, ci_env(tmp_path, name, event, sha=sha))
        assert proc.returncode == 0, explain(proc)
        assert doc["context"]["event"] == "ci"
        assert doc["context"]["all_paths"] is True  # as with --all
        assert doc["candidate"]["tree"] == repo.git("rev-parse", f"{sha}^{{tree}}").strip()
        assert _outcomes(doc)["unit"] in ("passed", "cached")  # src/** did not change


def test_push_of_a_new_branch_compares_against_the_default_branch(
    repo: Repo, tmp_path: Path
) -> None:
    _config(repo)
    repo.write("src/a.py", "x = 1\n")
    main = repo.commit("base")
    remote = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(remote))
    clone = Repo(tmp_path / "clone")
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{remote}", str(clone.path))
    clone.git("checkout", "-q", "-b", "feature/new")
    clone.write("src/b.py", "y = 2\n")
    clone.write("src/c.py", "z = 3\n")
    clone.commit("one")
    clone.write("src/c.py", "z = 4\n")
    after = clone.commit("two")
    clone.git("update-ref", "-d", "refs/remotes/origin/main")  # as a one-commit checkout has it
    event = payload(tmp_path, "push_new_branch", head=after)
    proc, doc = _run(clone, ci_env(tmp_path, "push", event, sha=after, ref="feature/new"))
    assert proc.returncode == 0, explain(proc)
    assert doc["candidate"]["base"] == main
    assert doc["context"]["changed"] == ["src/b.py", "src/c.py"]
    assert doc["context"]["branch"] == "feature/new"


def test_a_shallow_pull_request_checkout_fetches_what_it_lacks(repo: Repo, tmp_path: Path) -> None:
    base, head = _pr_repo(repo)
    remote = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--mirror", str(repo.path), str(remote))
    clone = Repo(tmp_path / "clone")
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{remote}", str(clone.path))
    assert clone.git("cat-file", "-t", head, check=False) == ""
    event = payload(tmp_path, "pull_request", base=base, head=head, before=base)
    proc, doc = _run(clone, ci_env(tmp_path, "pull_request", event, sha=base))
    assert proc.returncode == 0, explain(proc)
    assert "gatekit: fetched what the checkout lacked" in proc.stderr
    merged = repo.git("merge-tree", "--write-tree", base, head).split()[0]
    assert doc["candidate"]["tree"] == merged
    # and without the remote, the error says what is missing and what to do
    clone2 = Repo(tmp_path / "clone2")
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{remote}", str(clone2.path))
    clone2.git("remote", "set-url", "origin", str(tmp_path / "gone.git"))
    proc = clone2.gatekit("check", env=ci_env(tmp_path, "pull_request", event, sha=base))
    assert proc.returncode == 2, explain(proc)
    assert f"gatekit: error: the checkout lacks commit(s) {head[:12]}" in proc.stderr
    assert "fetch-depth: 0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_deleted_branch_has_nothing_to_check(repo: Repo, tmp_path: Path) -> None:
    before = repo.git("rev-parse", "HEAD").strip()
    event = payload(tmp_path, "push", before=before, head="0" * 40)
    proc = repo.gatekit("check", env=ci_env(tmp_path, "push", event))
    assert proc.returncode == 0, explain(proc)
    assert "gatekit: nothing to check for this push event" in proc.stderr


def test_an_unknown_event_is_a_clear_error(repo: Repo, tmp_path: Path) -> None:
    event = payload(tmp_path, "schedule")
    proc = repo.gatekit("check", env=ci_env(tmp_path, "release", event))
    assert proc.returncode == 2
    assert "gatekit: error: gatekit check --ci does not know the GitHub event 'release'" in (
        proc.stderr
    )


def test_25_findings_give_10_error_annotations_and_one_notice(repo: Repo, tmp_path: Path) -> None:
    write_config(repo, [{"id": "markers", "builtin": "conflict-markers"}])
    before = repo.commit("config")
    repo.write("we%ird:na,me.txt", "".join(f"<<<<<<< {i}\n" for i in range(25)))
    after = repo.commit("25 markers")
    event = payload(tmp_path, "push", before=before, head=after)
    proc, _doc = _run(repo, ci_env(tmp_path, "push", event, sha=after))
    assert proc.returncode == 1, explain(proc)
    got = [c for c in commands(proc.stderr) if c.name in ("error", "warning", "notice")]
    assert [c.name for c in got] == ["error"] * 10 + ["notice"]
    assert {c.props["file"] for c in got[:10]} == {"we%ird:na,me.txt"}
    assert [c.props["line"] for c in got[:10]] == [str(i) for i in range(1, 11)]
    assert got[-1].data.startswith("15 errors more than GitHub shows per step")
    summary = (tmp_path / "gh" / "summary.md").read_text()
    assert "### Annotations not shown (15)" in summary
    assert "| error | `we%ird:na,me.txt:25` |" in summary


def test_secret_values_are_masked_before_any_gate_line(repo: Repo, tmp_path: Path) -> None:
    write_config(
        repo,
        [
            {"id": "secrets", "builtin": "secrets"},
            gate("cat", "print(open('app/aws.py').read())"),
        ],
    )
    before = repo.commit("config")
    key = "AK" + "IA" + "QWERTYUIOP234567"
    repo.write("app/aws.py", f'aws_access_key_id = "{key}"\n')
    after = repo.commit("a key")
    event = payload(tmp_path, "push", before=before, head=after)
    proc, _doc = _run(repo, ci_env(tmp_path, "push", event, sha=after))
    assert proc.returncode == 1, explain(proc)
    lines = proc.stderr.splitlines()
    masks = [i for i, ln in enumerate(lines) if ln == f"::add-mask::{key}"]
    assert masks, explain(proc)
    first_gate_line = next(i for i, ln in enumerate(lines) if ln.startswith("["))
    assert masks[0] < first_gate_line
    assert sum(key in ln for ln in lines) == 1  # only the mask command itself
    assert key not in (tmp_path / "gh" / "summary.md").read_text()
