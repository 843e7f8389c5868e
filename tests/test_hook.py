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
