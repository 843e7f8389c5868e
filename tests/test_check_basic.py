"""``gatekit check`` end to end through the CLI: real repositories, real gate processes.

Covers issue 4 at the level of the command: the default policy, session gates
(pass, fail, needs, manual), --gate/--skip/--fail-fast, --json against the
result schema, exit codes, the candidate sources (--staged, --worktree, --rev,
--merge), the user's state left untouched, the guard against gates writing into
the main repository, escaping symlinks, and the sandboxed environment.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import textwrap
import time
from pathlib import Path

from check_support import (
    PY,
    check,
    check_json,
    explain,
    gate,
    gate_log,
    gate_of,
    outcomes,
    user_refs,
    user_state,
    write_config,
)
from conftest import Repo
from shadow_support import oracle_merge, oracle_staged, oracle_worktree

BROKEN_JSON = '{\n  "a": 1,\n  "b": ,\n  "c": 3\n}\n'
GOOD_JSON = '{\n  "a": 1,\n  "b": 2\n}\n'


# --- the default policy ---------------------------------------------------------------


def test_default_policy_passes_on_clean_files(repo: Repo) -> None:
    repo.write("data/ok.json", GOOD_JSON)
    repo.write("conf/app.yaml", "a: 1\nb: [1, 2]\n")
    repo.write("pyproject.toml", '[project]\nname = "x"\n')
    proc, doc = check_json(repo, expect=0)
    assert doc["verdict"] == "passed"
    got = outcomes(doc)
    assert set(got) >= {"parse-json", "parse-yaml", "parse-toml", "secrets", "conflict-markers"}
    assert (
        got["parse-json"] == "passed"
        and got["parse-yaml"] == "passed"
        and got["parse-toml"] == "passed"
    )
    assert (
        doc["policies"][0]["name"].endswith("default.yaml")
        or "default" in doc["policies"][0]["name"]
    )
    assert "Traceback" not in proc.stderr


def test_default_policy_fails_on_broken_json_with_file_and_line(repo: Repo) -> None:
    repo.write("data/ok.json", GOOD_JSON)
    repo.write("data/broken.json", BROKEN_JSON)
    proc = check(repo)
    assert proc.returncode == 1, explain(proc)
    assert "data/broken.json:3" in proc.stderr, explain(proc)
    assert "ok.json:" not in proc.stderr
    _, doc = check_json(repo, "--no-record", expect=1)
    parse = gate_of(doc, "parse-json")
    assert parse["outcome"] == "failed"
    assert [(f["path"], f["line"]) for f in parse["findings"]] == [("data/broken.json", 3)]
    assert doc["verdict"] == "failed" and doc["exit_code"] == 1


# --- session gates -----------------------------------------------------------------------


def test_session_gates_pass_fail_and_needs(repo: Repo) -> None:
    write_config(
        repo,
        [
            gate("ok", "print('hello from ok')"),
            gate("bad", "import sys; print('about to fail'); sys.exit(3)"),
            gate("after-bad", "print('never')", needs=["bad"]),
            gate("after-ok", "print('runs')", needs=["ok"]),
        ],
    )
    proc, doc = check_json(repo, expect=1)
    assert outcomes(doc) == {
        "ok": "passed",
        "bad": "failed",
        "after-bad": "skipped",
        "after-ok": "passed",
    }
    assert "bad" in gate_of(doc, "after-bad")["reason"]
    bad = gate_of(doc, "bad")
    assert bad["attempts"][0]["exit_code"] == 3
    assert len(bad["attempts"]) == 1  # deterministic failure: not retried
    assert "hello from ok" in gate_log(proc, doc, "ok")
    assert "about to fail" in gate_log(proc, doc, "bad")
    assert doc["checkpoint"] and doc["chain"] == "main"
    # plain output: one "[gate] " prefixed line stream on stderr, nothing but JSON on stdout
    assert "[bad] " in proc.stderr
    json.loads(proc.stdout)


def test_all_passing_session_gates_exit_0(repo: Repo) -> None:
    write_config(repo, [gate("a", "print(1)"), gate("b", "print(2)", needs=["a"])])
    _, doc = check_json(repo, expect=0)
    assert outcomes(doc) == {"a": "passed", "b": "passed"}
    assert doc["verdict"] == "passed"


def test_gate_and_skip_select_gates(repo: Repo) -> None:
    write_config(
        repo,
        [
            gate("ok", "print(1)"),
            gate("bad", "raise SystemExit(1)"),
            gate("after", "print(2)", needs=["bad"]),
        ],
    )
    _, doc = check_json(repo, "--gate", "ok", "--no-record", expect=0)
    assert outcomes(doc) == {"ok": "passed", "bad": "skipped", "after": "skipped"}
    assert "--gate" in gate_of(doc, "bad")["reason"]

    # --gate X runs X's needs too
    _, doc = check_json(repo, "--gate", "after", "--no-record", expect=1)
    assert outcomes(doc) == {"ok": "skipped", "bad": "failed", "after": "skipped"}

    _, doc = check_json(repo, "--skip", "bad", "--no-record", expect=0)
    assert outcomes(doc) == {"ok": "passed", "bad": "skipped", "after": "skipped"}
    assert "--skip" in gate_of(doc, "bad")["reason"]
    assert "bad" in gate_of(doc, "after")["reason"]

    for flag in ("--gate", "--skip"):
        proc = check(repo, flag, "okk", "--no-record")
        assert proc.returncode == 2, explain(proc)
        assert "no such gate" in proc.stderr and "'ok'" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_fail_fast_starts_no_new_gate(repo: Repo, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    write_config(
        repo,
        [
            gate("bad", "raise SystemExit(1)"),
            *(gate(f"later{i}", f"open({str(marker)!r} + '{i}', 'w').close()") for i in range(3)),
        ],
    )
    _, doc = check_json(repo, "--fail-fast", "--jobs", "1", "--no-record", expect=1)
    got = outcomes(doc)
    assert got["bad"] == "failed"
    assert all(got[f"later{i}"] == "skipped" for i in range(3)), got
    assert all("fail-fast" in gate_of(doc, f"later{i}")["reason"] for i in range(3))
    assert not list(tmp_path.glob("started*"))
    # without --fail-fast they all run
    _, doc = check_json(repo, "--jobs", "1", "--no-record", expect=1)
    assert sorted(p.name for p in tmp_path.glob("started*")) == ["started0", "started1", "started2"]


def test_manual_gate_pending_exits_3(repo: Repo) -> None:
    write_config(
        repo,
        [
            gate("ok", "print(1)"),
            {
                "id": "sign-off",
                "type": "manual",
                "instructions": "a maintainer reviews the release notes",
            },
        ],
    )
    proc, doc = check_json(repo, expect=3)
    assert doc["verdict"] == "manual_required"
    assert outcomes(doc) == {"ok": "passed", "sign-off": "manual_pending"}
    assert "release notes" in proc.stderr
    # a failing gate wins over a pending manual gate
    write_config(
        repo,
        [
            gate("bad", "raise SystemExit(1)"),
            {"id": "sign-off", "type": "manual", "instructions": "x"},
        ],
    )
    check_json(repo, "--no-record", expect=1)


def test_config_errors_exit_2_without_traceback(repo: Repo) -> None:
    cases = {
        "unknown key": 'version: 1\ngates:\n  - id: a\n    sesion: {run: ["true"]}\n',
        "bad yaml": "version: 1\ngates: [\n",
        "unknown need": 'version: 1\ngates:\n  - id: a\n    session: {run: ["true"]}\n    needs: [nope]\n',
        "cycle": (
            "version: 1\ngates:\n"
            '  - id: a\n    session: {run: ["true"]}\n    needs: [b]\n'
            '  - id: b\n    session: {run: ["true"]}\n    needs: [a]\n'
        ),
        "no runner": "version: 1\ngates:\n  - id: a\n",
    }
    before = user_state(repo.path)
    for name, text in cases.items():
        repo.write("validation.yaml", text)
        before = user_state(repo.path)
        proc = check(repo)
        assert proc.returncode == 2, f"{name}: {explain(proc)}"
        assert "Traceback" not in proc.stderr + proc.stdout, name
        assert "validation.yaml" in proc.stderr, f"{name}: {explain(proc)}"
        assert user_state(repo.path) == before, name
    assert not (repo.path / ".git" / "refs" / "gatekit" / "checkpoints").exists()
    # usage errors too
    write_config(repo, [gate("a", "print(1)")])
    for args in (
        ["--rev", "no-such-rev"],
        ["--promote", "refs/heads/x"],
        ["--config", "missing.yaml"],
    ):
        proc = check(repo, *args)
        assert proc.returncode == 2, f"{args}: {explain(proc)}"
        assert "Traceback" not in proc.stderr, args


# --- candidate sources -------------------------------------------------------------------------


def test_staged_and_worktree_check_different_trees(repo: Repo) -> None:
    repo.write("data.json", GOOD_JSON)
    repo.commit("data")
    repo.write("data.json", GOOD_JSON.replace("2", "3"))
    repo.git("add", "data.json")
    repo.write("data.json", BROKEN_JSON)  # unstaged: breaks only the worktree
    repo.write("new.txt", "untracked\n")
    before = user_state(repo.path)

    _, staged = check_json(repo, "--staged", expect=0)
    assert staged["candidate"]["source"] == "staged"
    assert staged["candidate"]["tree"] == oracle_staged(repo.path)
    assert staged["context"]["changed"] == ["data.json"]

    proc, worktree = check_json(repo, "--worktree", expect=1)
    assert worktree["candidate"]["source"] == "worktree"
    assert worktree["candidate"]["tree"] == oracle_worktree(repo.path)
    assert worktree["context"]["changed"] == ["data.json", "new.txt"]
    assert "data.json:3" in proc.stderr

    # pre-commit event defaults to the staged index, manual to the worktree
    check_json(repo, "--event", "pre-commit", expect=0)
    check_json(repo, expect=1)
    assert user_state(repo.path) == before


def test_rev_checks_a_commit(repo: Repo) -> None:
    repo.write("data.json", BROKEN_JSON)
    broken = repo.commit("broken")
    repo.write("data.json", GOOD_JSON)
    fixed = repo.commit("fixed")
    repo.write("data.json", BROKEN_JSON)  # the worktree does not matter for --rev
    proc, doc = check_json(repo, "--rev", broken, expect=1)
    assert doc["candidate"]["source"] == "rev"
    assert doc["candidate"]["tree"] == repo.git("rev-parse", f"{broken}^{{tree}}").strip()
    assert doc["candidate"]["base"] == repo.git("rev-parse", f"{broken}~1").strip()
    assert "data.json:3" in proc.stderr
    _, doc = check_json(repo, "--rev", "HEAD", expect=0)
    assert doc["candidate"]["tree"] == repo.git("rev-parse", f"{fixed}^{{tree}}").strip()


def test_merge_checks_the_merged_tree(repo: Repo) -> None:
    repo.write("a.txt", "1\n2\n3\n4\n5\n6\n7\n8\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("a.txt", "1\n2\n3\n4\n5\n6\n7\nEIGHT\n")
    repo.write("feature.json", GOOD_JSON)
    repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.write("a.txt", "ONE\n2\n3\n4\n5\n6\n7\n8\n")
    repo.commit("main moves")
    code = (
        "import pathlib, sys; t = pathlib.Path('a.txt').read_text();"
        "sys.exit(0 if t.startswith('ONE') and 'EIGHT' in t and pathlib.Path('feature.json').exists() else 1)"
    )
    write_config(
        repo,
        [gate("both-sides", code), {"id": "json", "builtin": "parse-json", "paths": ["*.json"]}],
    )
    repo.commit("config")
    before = user_state(repo.path)
    _, doc = check_json(repo, "--merge", "main", "feature", expect=0)
    tree, conflicts = oracle_merge(repo.path, "main", "feature")
    assert conflicts == set()
    assert doc["candidate"]["source"] == "merge"
    assert doc["candidate"]["tree"] == tree
    assert doc["candidate"]["base"] == repo.git("rev-parse", "main").strip()
    assert outcomes(doc) == {"both-sides": "passed", "json": "passed"}
    assert user_state(repo.path) == before


def test_conflicting_merge_exits_2_listing_paths(repo: Repo) -> None:
    repo.write("x.txt", "base\n")
    repo.write("y.txt", "base\n")
    repo.write("z.txt", "same\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("x.txt", "feature\n")
    repo.write("y.txt", "feature\n")
    repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.write("x.txt", "main\n")
    repo.write("y.txt", "main\n")
    repo.commit("main")
    before = user_state(repo.path)
    proc = check(repo, "--merge", "main", "feature")
    assert proc.returncode == 2, explain(proc)
    assert "x.txt" in proc.stderr and "y.txt" in proc.stderr
    assert "z.txt" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert user_state(repo.path) == before


# --- the user's state ------------------------------------------------------------------------


def test_user_state_unchanged_by_checks(repo: Repo) -> None:
    """Index, worktree (bytes and mtime), HEAD, refs and config: identical before and after."""
    repo.write("src/mod.py", "x = 1\n")
    repo.write("data.json", GOOD_JSON)
    repo.commit("files")
    repo.git("branch", "topic")
    repo.write("src/mod.py", "x = 2\n")
    repo.git("add", "src/mod.py")
    repo.write("src/mod.py", "x = 3\n")  # unstaged on top of staged
    repo.write("data.json", BROKEN_JSON)
    repo.write("scratch/notes.txt", "untracked\n")
    (repo.path / "src" / "mod.py").chmod(0o755)
    write_config(
        repo,
        [
            gate(
                "writes-shadow",
                "import pathlib; pathlib.Path('src/mod.py').write_text('garbage'); pathlib.Path('junk').mkdir()",
            ),
            gate("ok", "print(1)"),
        ],
    )
    before = user_state(repo.path)
    refs = user_refs(repo)
    for args in (
        ["--staged"],
        ["--worktree"],
        ["--rev", "topic"],
        ["--merge", "main", "topic"],
        ["--worktree", "--no-cache"],
    ):
        proc = check(repo, *args)
        assert proc.returncode in (0, 1), f"{args}: {explain(proc)}"
        assert user_state(repo.path) == before, args
        assert user_refs(repo) == refs, args
    assert stat.S_IMODE((repo.path / "src" / "mod.py").stat().st_mode) == 0o755


def test_gate_writing_into_main_git_is_detected(repo: Repo) -> None:
    code = textwrap.dedent(
        """
        import subprocess
        common = subprocess.run(['git', 'rev-parse', '--path-format=absolute', '--git-common-dir'],
                                capture_output=True, text=True, check=True).stdout.strip()
        main = subprocess.run(['git', '--git-dir', common, 'rev-parse', '--path-format=absolute', '--show-toplevel'],
                              capture_output=True, text=True).stdout.strip()
        print('common dir found')
        subprocess.run(['git', '--git-dir', common, 'update-ref', 'refs/heads/evil', 'HEAD'], check=True)
        """
    )
    write_config(repo, [gate("evil", code), gate("ok", "print(1)")])
    proc, doc = check_json(repo, expect=1)
    assert doc["verdict"] == "failed"
    guard = gate_of(doc, "gatekit-guard")
    assert guard["outcome"] == "error"
    assert "refs/heads/evil" in guard["reason"]
    assert "refs/heads/evil" in proc.stderr or "refs/heads/evil" in proc.stdout


def test_gate_changing_main_head_or_config_is_detected(repo: Repo) -> None:
    code = textwrap.dedent(
        """
        import subprocess
        common = subprocess.run(['git', 'rev-parse', '--path-format=absolute', '--git-common-dir'],
                                capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(['git', '--git-dir', common, 'config', 'core.hooksPath', '/tmp/evil-hooks'], check=True)
        """
    )
    write_config(repo, [gate("evil-config", code)])
    _, doc = check_json(repo, expect=1)
    assert "config" in gate_of(doc, "gatekit-guard")["reason"]


def test_symlink_escaping_the_repository_is_refused(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("private\n")
    write_config(repo, [gate("reads", "print(open('leak').read())")])
    repo.commit("config")
    os.symlink(os.path.relpath(outside, repo.path), repo.path / "leak")
    before = user_state(repo.path)
    proc = check(repo, "--worktree")
    assert proc.returncode == 2, explain(proc)
    assert "leak" in proc.stderr and "symlink" in proc.stderr
    assert "private" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert user_state(repo.path) == before
    # committed, absolute: refused for --rev as well
    (repo.path / "leak").unlink()
    os.symlink("/etc/passwd", repo.path / "leak")
    repo.commit("absolute link")
    proc = check(repo, "--rev", "HEAD")
    assert proc.returncode == 2, explain(proc)
    assert "leak" in proc.stderr
    # a symlink inside the repository is fine
    (repo.path / "leak").unlink()
    repo.write("target.txt", "inside\n")
    os.symlink("target.txt", repo.path / "leak")
    repo.commit("inside link")
    check_json(repo, "--rev", "HEAD", expect=0)


# --- the sandbox ------------------------------------------------------------------------------


def test_gate_environment_is_sandboxed(repo: Repo) -> None:
    user_home = os.environ["HOME"]
    code = textwrap.dedent(
        f"""
        import os, pathlib, subprocess, sys
        problems = []
        for name in ('GITHUB_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'GIT_DIR', 'GIT_INDEX_FILE', 'GIT_WORK_TREE'):
            if name in os.environ:
                problems.append(name + ' leaked')
        if os.environ.get('HOME') in (None, {user_home!r}):
            problems.append('HOME is the user home')
        pathlib.Path(os.environ['HOME'], 'gate-was-here').write_text('x')
        top = subprocess.run(['git', 'rev-parse', '--show-toplevel'], capture_output=True, text=True).stdout.strip()
        if os.path.realpath(top) != os.path.realpath(os.getcwd()):
            problems.append('git sees another work tree: ' + top)
        if os.path.realpath(os.getcwd()) == os.path.realpath({str(repo.path)!r}):
            problems.append('cwd is the user repository')
        print('env ok' if not problems else 'PROBLEMS: ' + '; '.join(problems))
        sys.exit(1 if problems else 0)
        """
    )
    write_config(
        repo,
        [
            gate("env", code),
            gate("named", "import os; print('named', os.environ['MY_VAR'])", pass_env=["MY_VAR"]),
        ],
    )
    env = {
        "GITHUB_TOKEN": "ghp_" + "x" * 36,
        "AWS_SECRET_ACCESS_KEY": "not-a-real-key",
        "MY_VAR": "passed-through",
        # what git sets for a hook
        "GIT_DIR": str(repo.path / ".git"),
        "GIT_INDEX_FILE": str(repo.path / ".git" / "index"),
        "GIT_WORK_TREE": str(repo.path),
    }
    proc, doc = check_json(repo, env=env)
    assert proc.returncode == 0, explain(proc) + "\n" + gate_log(proc, doc, "env")
    assert "env ok" in gate_log(proc, doc, "env")
    assert "named passed-through" in gate_log(proc, doc, "named")
    assert not (Path(user_home) / "gate-was-here").exists()


def test_real_pre_commit_hook_with_commit_all(repo: Repo) -> None:
    """git runs the hook with GIT_INDEX_FILE pointing at its own temporary index (commit -a)."""
    repo.write("data.json", GOOD_JSON)
    write_config(
        repo,
        [
            gate(
                "no-git-vars",
                "import os, sys; sys.exit(1 if 'GIT_INDEX_FILE' in os.environ or 'GIT_DIR' in os.environ else 0)",
            ),
            {"id": "json", "builtin": "parse-json", "paths": ["*.json"]},
        ],
    )
    repo.commit("data")
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\nexec {PY} -m gatekit check --event pre-commit --plain\n")
    hook.chmod(0o755)
    head = repo.git("rev-parse", "HEAD").strip()
    repo.write("data.json", BROKEN_JSON)  # tracked, modified, not staged: commit -a stages it
    proc = subprocess.run(
        ["git", "commit", "-q", "-a", "-m", "broken"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0, proc.stderr
    assert "data.json:3" in proc.stderr, proc.stderr
    assert repo.git("rev-parse", "HEAD").strip() == head
    repo.write("data.json", GOOD_JSON.replace("2", "5"))
    repo.git("commit", "-q", "-a", "-m", "fine")
    assert repo.git("rev-parse", "HEAD").strip() != head
    log = repo.gatekit("log", "--json")
    assert log.returncode == 0, log.stderr


def test_user_activity_in_main_repo_during_a_check_is_not_blamed_on_gates(
    repo: Repo, tmp_path: Path
) -> None:
    hold = (
        "import os, pathlib, time\n"
        f"d = pathlib.Path({str(tmp_path)!r})\n"
        "(d / 'started').write_text('1')\n"
        "end = time.time() + 10\n"
        "while not (d / 'go').exists() and time.time() < end:\n"
        "    time.sleep(0.01)\n"
    )
    write_config(repo, [gate("hold", hold, cache=False)])
    repo.commit("config")
    p = subprocess.Popen(
        [PY, "-m", "gatekit", "check", "--plain", "--rev", "HEAD"],
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    repo.git("branch", "side")  # the user, in another terminal
    (tmp_path / "go").write_text("1")
    _out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
