"""Concurrency through ``gatekit check`` (issue 5): eight checks at once in one repository,
a promotion race against another process moving the target ref, and --apply-fixes /
``gatekit promote`` end to end with a formatter gate.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from check_support import (
    check,
    check_json,
    explain,
    gate,
    gate_of,
    stray_locks,
    user_refs,
    user_state,
    write_config,
)
from conftest import Repo, run_gatekit

pytestmark = pytest.mark.slow


def _popen_check(
    repo: Repo, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "gatekit", "check", "--plain", "--json", *args],
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


def _fsck_clean(repo: Repo) -> None:
    proc = subprocess.run(
        ["git", "fsck", "--full", "--strict"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if line.startswith(("error", "missing", "broken", "bad"))
    ]
    assert not bad, bad


# --- eight checks at once ----------------------------------------------------------------------


def test_eight_concurrent_checks_keep_every_checkpoint_and_note(repo: Repo) -> None:
    write_config(
        repo,
        [
            gate("slowish", "import time; time.sleep(0.3)", cache=False),
            gate("quick", "print('ok')", cache=False),
            {"id": "json", "builtin": "parse-json", "paths": ["*.json"]},
        ],
    )
    repo.write("data.json", "{}\n")
    repo.commit("config")
    repo.write("data.json", '{"a": 1}\n')
    before = user_state(repo.path)
    chains = ["shared"] * 4 + [f"solo{i}" for i in range(4)]
    procs = [_popen_check(repo, "--worktree", "--chain", chain) for chain in chains]
    results = []
    for chain, p in zip(chains, procs, strict=True):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"{chain}: exit {p.returncode}\n{err[-3000:]}"
        doc = json.loads(out)
        assert doc["verdict"] == "passed"
        results.append((chain, doc))

    assert user_state(repo.path) == before
    # every run's checkpoint is on its chain, with its note
    for chain in set(chains):
        log = run_gatekit(repo.path, "log", "--chain", chain, "-n", "0", "--json")
        assert log.returncode == 0, log.stderr
        entries = json.loads(log.stdout)
        ids = {e["checkpoint"] for e in entries}
        # each log entry carries its own record (the note), with the run that made it
        assert all([r["run_id"] for r in e["records"]] for e in entries)
        mine = [doc for c, doc in results if c == chain]
        assert len(entries) == len(mine), (chain, len(entries), len(mine))
        for doc in mine:
            assert doc["checkpoint"] in ids
    noted = {line.split()[1] for line in repo.git("notes", "--ref=gatekit", "list").splitlines()}
    for _chain, doc in results:
        assert doc["checkpoint"] in noted
        note = repo.git("notes", "--ref=gatekit", "show", doc["checkpoint"])
        records = [json.loads(line) for line in note.splitlines() if line.strip()]
        assert [r["run_id"] for r in records] == [doc["run_id"]]
    # the shared chain is one linear history of four checkpoints
    shared = repo.git("rev-list", "--first-parent", "refs/gatekit/checkpoints/shared").split()
    assert {doc["checkpoint"] for c, doc in results if c == "shared"} <= set(shared)
    _fsck_clean(repo)
    assert stray_locks(repo) == []
    # and the next check still works
    check_json(repo, "--worktree", "--chain", "shared", expect=0)


# --- the promotion race ---------------------------------------------------------------------

TRIALS = int(os.environ.get("GATEKIT_PROMOTION_TRIALS", "100"))

# The gate announces itself (marker file) and, in "during" trials, waits until the
# test has moved the target ref.
HOLD = (
    "import os, pathlib, time\n"
    "d = pathlib.Path(os.environ['TRIAL_DIR'])\n"
    "(d / 'started').write_text('1')\n"
    "if os.environ.get('TRIAL_WAIT') == '1':\n"
    "    end = time.time() + 10\n"
    "    while not (d / 'go').exists() and time.time() < end:\n"
    "        time.sleep(0.005)\n"
)


def _update_ref(repo: Repo, ref: str, new: str, old: str) -> bool:
    """Compare-and-swap from the test side; True when it moved the ref."""
    proc = subprocess.run(
        ["git", "update-ref", ref, new, old], cwd=repo.path, capture_output=True, check=False
    )
    return proc.returncode == 0


def _ref(repo: Repo, ref: str) -> str:
    return repo.git("rev-parse", ref).strip()


def _commit_on(repo: Repo, parent: str, label: str) -> str:
    """A commit with a unique tree on top of ``parent``, made without touching the worktree."""
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=repo.path,
            input=label.encode(),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    base_tree = repo.git("rev-parse", f"{parent}^{{tree}}").strip()
    env = dict(os.environ, GIT_INDEX_FILE=str(repo.path / ".git" / f"tmp-index-{label}"))
    subprocess.run(["git", "read-tree", base_tree], cwd=repo.path, env=env, check=True)
    subprocess.run(
        ["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},trial/{label}.txt"],
        cwd=repo.path,
        env=env,
        check=True,
    )
    tree = (
        subprocess.run(
            ["git", "write-tree"], cwd=repo.path, env=env, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )
    os.unlink(env["GIT_INDEX_FILE"])
    return repo.git("commit-tree", tree, "-p", parent, "-m", label).strip()


def _prepare(repo: Repo, i: int) -> dict[str, str]:
    base = _ref(repo, "main")
    trial = {
        "base": base,
        "tested": _commit_on(repo, base, f"tested-{i}"),
        "moved_to": _commit_on(repo, base, f"moved-{i}"),
        "target": f"refs/heads/target-{i}",
    }
    repo.git("update-ref", trial["target"], base)
    return trial


def _trial(repo: Repo, tmp: Path, i: int, mode: str, prepared: dict[str, str]) -> dict[str, Any]:
    base, tested, moved_to, target = (prepared[k] for k in ("base", "tested", "moved_to", "target"))
    trial_dir = tmp / f"trial-{i}"
    trial_dir.mkdir()
    env = {"TRIAL_DIR": str(trial_dir), "TRIAL_WAIT": "1" if mode == "during" else "0"}
    start = time.monotonic()
    p = _popen_check(repo, "--rev", tested, "--promote", target, env=env)
    moved = False
    if mode == "during":
        deadline = time.monotonic() + 60
        while (
            not (trial_dir / "started").exists()
            and p.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.005)
        moved = _update_ref(repo, target, moved_to, base)
        (trial_dir / "go").write_text("1")
    elif mode == "random":
        time.sleep(random.uniform(0, 1.6))
        moved = _update_ref(repo, target, moved_to, base)
    _out, err = p.communicate(timeout=120)
    return {
        "i": i,
        "mode": mode,
        "code": p.returncode,
        "moved": moved,
        "tested": tested,
        "moved_to": moved_to,
        "final": _ref(repo, target),
        "stderr": err[-2000:],
        "seconds": round(time.monotonic() - start, 2),
    }


def _worker(repo: Repo, tmp: Path, jobs: list[tuple[int, str]]) -> list[dict[str, Any]]:
    """Trials one after the other in one repository: only the test moves refs meanwhile."""
    prepared = {i: _prepare(repo, i) for i, _mode in jobs}
    return [_trial(repo, tmp, i, mode, prepared[i]) for i, mode in jobs]


def test_promotion_never_overwrites_a_moved_target(repo: Repo, tmp_path: Path) -> None:
    write_config(repo, [gate("hold", HOLD, pass_env=["TRIAL_DIR", "TRIAL_WAIT"], cache=False)])
    repo.commit("config")
    modes = ["none", "during", "random"] * (TRIALS // 3) + ["random"] * (TRIALS % 3)
    random.Random(4).shuffle(modes)
    workers = 3
    repos = [repo]
    for w in range(1, workers):
        clone = tmp_path / f"clone-{w}"
        subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
        repos.append(Repo(clone))
    jobs = list(enumerate(modes))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_worker, repos[w], tmp_path, jobs[w::workers]) for w in range(workers)
        ]
        trials = [t for f in futures for t in f.result()]

    problems = []
    for t in trials:
        if t["moved"]:
            # someone else moved the ref: gatekit must leave it where they put it, and say so
            ok = t["final"] == t["moved_to"] and t["code"] == 4 and "moved" in t["stderr"]
        else:
            # nobody moved it before the promotion: exactly the tested commit, exit 0
            ok = t["final"] == t["tested"] and t["code"] == 0
        if not ok:
            problems.append(
                {
                    k: t[k]
                    for k in ("i", "mode", "code", "moved", "final", "tested", "moved_to", "stderr")
                }
            )
    assert not problems, json.dumps(problems[:5], indent=1)
    summary = {
        mode: sorted((t["code"], t["moved"]) for t in trials if t["mode"] == mode)
        for mode in ("none", "during", "random")
    }
    mean = sum(t["seconds"] for t in trials) / len(trials)
    print(
        f"promotion race: {len(trials)} trials (mean {mean:.2f} s each); (exit, moved) by mode: {summary}"
    )
    assert all(t["moved"] for t in trials if t["mode"] == "during")
    for r in repos:
        _fsck_clean(r)
        assert stray_locks(r) == []


# --- fixes ------------------------------------------------------------------------------------------

STRIP = (
    "import pathlib\n"
    "for p in sorted(pathlib.Path('.').rglob('*.py')):\n"
    "    if '.git' in p.parts: continue\n"
    "    text = p.read_text()\n"
    "    fixed = '\\n'.join(line.rstrip() for line in text.split('\\n'))\n"
    "    if fixed != text: p.write_text(fixed)\n"
)

ORIGINAL = "".join(f"line{i} = {i}\n" for i in range(1, 21))


def _fix_repo(repo: Repo) -> None:
    write_config(repo, [gate("strip", STRIP, fix=True), gate("other", "print(1)")])
    repo.write("mod.py", ORIGINAL)
    repo.commit("seed")


def _staged(repo: Repo, path: str) -> str:
    return repo.git("show", f":{path}")


def test_apply_fixes_lands_in_index_and_worktree_keeping_unstaged_edits(repo: Repo) -> None:
    _fix_repo(repo)
    staged = ORIGINAL.replace("line2 = 2\n", "line2 = 2   \n")  # trailing whitespace, staged
    repo.write("mod.py", staged)
    repo.git("add", "mod.py")
    worktree = staged.replace("line18 = 18\n", "line18 = 'unstaged edit'\n")  # far away, unstaged
    repo.write("mod.py", worktree)
    head = _ref(repo, "HEAD")
    proc, doc = check_json(repo, "--staged", "--apply-fixes")
    # like pre-commit: a formatter that changed something fails the check (what was checked
    # is not what will land); the fixes are applied for the next attempt
    assert proc.returncode == 1, explain(proc)
    assert gate_of(doc, "strip")["outcome"] == "failed" and gate_of(doc, "strip")["fix_tree"]
    assert gate_of(doc, "other")["outcome"] == "passed"
    assert "applied fixes" in proc.stderr
    assert _staged(repo, "mod.py") == ORIGINAL
    assert (repo.path / "mod.py").read_text() == ORIGINAL.replace(
        "line18 = 18\n", "line18 = 'unstaged edit'\n"
    )
    assert _ref(repo, "HEAD") == head
    # the fixed candidate checks clean, with nothing left to apply
    proc = check(repo, "--staged", "--apply-fixes")
    assert proc.returncode == 0 and "no fixes to apply" in proc.stderr, explain(proc)


def test_promote_after_git_add_is_refused_with_nothing_changed(repo: Repo) -> None:
    _fix_repo(repo)
    repo.write("mod.py", ORIGINAL.replace("line5 = 5\n", "line5 = 5  \n"))
    repo.git("add", "mod.py")
    proc, doc = check_json(repo, "--staged", expect=1)
    checkpoint = doc["checkpoint"]
    assert gate_of(doc, "strip")["fix_tree"]
    # the user stages something else in the same file after the check
    repo.write(
        "mod.py",
        ORIGINAL.replace("line5 = 5\n", "line5 = 5  \n").replace("line9 = 9\n", "line9 = 99\n"),
    )
    repo.git("add", "mod.py")
    before = user_state(repo.path)
    refs = user_refs(repo)
    proc = run_gatekit(repo.path, "promote", checkpoint)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "mod.py" in proc.stderr and "Traceback" not in proc.stderr
    assert user_state(repo.path) == before
    assert user_refs(repo) == refs
    # without the interfering add, the same promote applies the fix
    repo.write("mod.py", ORIGINAL.replace("line5 = 5\n", "line5 = 5  \n"))
    repo.git("add", "mod.py")
    proc = run_gatekit(repo.path, "promote", checkpoint)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _staged(repo, "mod.py") == ORIGINAL
    assert (repo.path / "mod.py").read_text() == ORIGINAL


def test_apply_fixes_refused_when_worktree_conflicts(repo: Repo) -> None:
    """Unstaged work on the very line the formatter fixes: the whole apply is refused."""
    _fix_repo(repo)
    repo.write("other.py", "a = 1   \n")
    repo.write("mod.py", ORIGINAL.replace("line3 = 3\n", "line3 = 3  \n"))
    repo.git("add", "mod.py", "other.py")
    repo.write("mod.py", ORIGINAL.replace("line3 = 3\n", "line3 = 'mine'  \n"))
    before = user_state(repo.path)
    proc = check(repo, "--staged", "--apply-fixes")
    assert proc.returncode in (1, 2), explain(proc)
    assert "mod.py" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert user_state(repo.path) == before  # other.py was not fixed alone: all or nothing
