"""gatekit as git's pre-commit hook: install, block a bad commit, let a good one through."""

from __future__ import annotations

import os
import sys

from conftest import Repo


def _commit(repo: Repo, message: str) -> tuple[int, str]:
    import subprocess

    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", message],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_pre_commit_hook_blocks_bad_commit_and_passes_good_one(repo: Repo) -> None:
    out = repo.gatekit("hook", "install")
    assert out.returncode == 0, out.stderr
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    assert "installed by gatekit" in hook.read_text()
    assert os.access(hook, os.X_OK)

    head = repo.git("rev-parse", "HEAD").strip()
    repo.write("data.json", '{"a": \n')
    repo.git("add", "data.json")
    code, output = _commit(repo, "broken")
    assert code != 0
    assert "data.json:2" in output
    assert repo.git("rev-parse", "HEAD").strip() == head  # nothing committed

    repo.write("data.json", '{"a": 1}\n')
    repo.git("add", "data.json")
    code, output = _commit(repo, "fixed")
    assert code == 0, output
    assert repo.git("rev-parse", "HEAD").strip() != head


def test_hook_checks_the_staged_version_not_the_working_tree(repo: Repo) -> None:
    repo.gatekit("hook", "install")
    repo.write("data.json", '{"a": 1}\n')
    repo.git("add", "data.json")
    repo.write("data.json", '{"a": \n')  # unstaged breakage is not what lands
    code, output = _commit(repo, "good staged")
    assert code == 0, output
    assert (repo.path / "data.json").read_text() == '{"a": \n'  # unstaged work untouched


def test_foreign_hook_is_kept_unless_forced_and_restored_on_uninstall(repo: Repo) -> None:
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho mine\n")
    refused = repo.gatekit("hook", "install")
    assert refused.returncode == 2
    assert "--force" in refused.stderr
    assert hook.read_text() == "#!/bin/sh\necho mine\n"

    assert repo.gatekit("hook", "install", "--force").returncode == 0
    assert (hook.parent / "pre-commit.legacy").read_text() == "#!/bin/sh\necho mine\n"
    out = repo.gatekit("hook", "uninstall")
    assert "restored" in out.stdout
    assert hook.read_text() == "#!/bin/sh\necho mine\n"


def test_forced_install_runs_the_foreign_hook_first(repo: Repo) -> None:
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(
        '#!/bin/sh\necho legacy ran >> "$(git rev-parse --git-dir)/legacy.log"\n'
        "test ! -e block-me\n"
    )
    hook.chmod(0o755)
    assert repo.gatekit("hook", "install", "--force").returncode == 0
    repo.write("a.txt", "a\n")
    repo.git("add", "a.txt")
    code, output = _commit(repo, "both hooks pass")
    assert code == 0, output
    assert (repo.path / ".git" / "legacy.log").read_text() == "legacy ran\n"
    head = repo.git("rev-parse", "HEAD").strip()
    repo.write("block-me", "x\n")
    repo.git("add", "block-me")
    code, output = _commit(repo, "the legacy hook refuses")
    assert code == 1, output
    assert repo.git("rev-parse", "HEAD").strip() == head
    assert (repo.path / ".git" / "legacy.log").read_text() == "legacy ran\nlegacy ran\n"


def test_install_in_a_linked_worktree_writes_the_common_hooks_dir(repo: Repo) -> None:
    linked = repo.path.parent / "linked"
    repo.git("worktree", "add", "-q", "-b", "side", str(linked))
    out = Repo(linked).gatekit("hook", "install")
    assert out.returncode == 0, out.stderr
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    assert f"pre-commit hook installed: {hook}" in out.stdout
    side = Repo(linked)
    side.write("bad.json", '{"a": \n')
    side.git("add", "bad.json")
    code, output = _commit(side, "broken in the linked worktree")
    assert code != 0 and "bad.json:2" in output


def test_install_honours_core_hooks_path(repo: Repo) -> None:
    repo.git("config", "core.hooksPath", ".githooks")
    out = repo.gatekit("hook", "install")
    assert out.returncode == 0, out.stderr
    hook = repo.path / ".githooks" / "pre-commit"
    assert "installed by gatekit" in hook.read_text()
    assert not (repo.path / ".git" / "hooks" / "pre-commit").exists()
    repo.write("bad.json", '{"a": \n')
    repo.git("add", "bad.json")
    code, output = _commit(repo, "broken")
    assert code != 0 and "bad.json:2" in output


def test_gatekit_skip_skips_gates_for_one_run_recorded_as_requested(repo: Repo) -> None:
    import json

    repo.gatekit("hook", "install")
    repo.write("bad.json", '{"a": \n')
    repo.git("add", "bad.json")
    code, _output = _commit(repo, "refused")
    assert code != 0
    env = dict(os.environ, GATEKIT_SKIP="parse-json")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    import subprocess

    proc = subprocess.run(
        ["git", "commit", "-q", "-m", "skipped on purpose"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    log = repo.gatekit("log", "--json", "-n", "1")
    rec = json.loads(log.stdout)[0]["records"][-1]
    gate = next(g for g in rec["gates"] if g["id"] == "parse-json")
    assert gate["outcome"] == "skipped"
    assert gate["reason"] == "skipped by request (GATEKIT_SKIP)"
    typo = repo.gatekit("check", "--staged", env={"GATEKIT_SKIP": "parse-jsno"})
    assert typo.returncode == 2
    assert "GATEKIT_SKIP names 'parse-jsno': no such gate in the plan" in typo.stderr
    assert "did you mean 'parse-json'?" in typo.stderr


def test_forced_pre_push_hook_gives_both_hooks_the_pushed_refs(repo: Repo) -> None:
    import subprocess

    remote = repo.path.parent / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    hook = repo.path / ".git" / "hooks" / "pre-push"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text('#!/bin/sh\ncat > "$(git rev-parse --git-dir)/legacy-stdin"\n')
    hook.chmod(0o755)
    assert repo.gatekit("hook", "install", "--hook", "pre-push", "--force").returncode == 0
    repo.write("bad.json", '{"a": \n')
    head = repo.commit("broken json")
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    push = subprocess.run(
        ["git", "push", "-q", "origin", "main"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert push.returncode != 0, push.stderr
    assert "bad.json:2" in push.stderr  # gatekit saw the pushed range after the legacy hook
    stdin = (repo.path / ".git" / "legacy-stdin").read_text()
    assert stdin == f"refs/heads/main {head} refs/heads/main {'0' * 40}\n"


def test_forced_install_never_overwrites_a_chained_hook(repo: Repo) -> None:
    hooks = repo.path / ".git" / "hooks"
    (hooks / "pre-commit").write_text("#!/bin/sh\necho second\n")
    (hooks / "pre-commit.legacy").write_text("#!/bin/sh\necho first\n")
    proc = repo.gatekit("hook", "install", "--force")
    assert proc.returncode == 2
    assert "pre-commit.legacy exists too" in proc.stderr
    assert (hooks / "pre-commit").read_text() == "#!/bin/sh\necho second\n"
    assert (hooks / "pre-commit.legacy").read_text() == "#!/bin/sh\necho first\n"
