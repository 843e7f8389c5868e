"""gatekit rollback, log, show and promote through the command line."""

from __future__ import annotations

import json

import pygit2
from conftest import Repo
from record_support import make_result

from gatekit.record.checkpoints import iter_checkpoints, record_checkpoint
from gatekit.record.rollback import glob_regex
from gatekit.results import Outcome


def _checkpoint(repo: Repo, **kw: object) -> str:
    pr = pygit2.Repository(str(repo.path))
    tree = repo.git("write-tree").strip()
    head = repo.git("rev-parse", "HEAD").strip()
    return record_checkpoint(pr, "main", tree, head, make_result(tree, head, **kw))  # type: ignore[arg-type]


def test_rollback_restores_tree_and_index(repo: Repo) -> None:
    repo.write("src/a.py", "v1\n")
    repo.write("src/b.py", "b1\n")
    repo.commit("v1")
    cp = _checkpoint(repo)
    repo.write("src/a.py", "v2\n")
    repo.write("src/c.py", "new\n")
    repo.git("rm", "-q", "src/b.py")
    repo.commit("v2")
    proc = repo.gatekit("rollback", cp[:10])
    assert proc.returncode == 0, proc.stderr
    assert (repo.path / "src/a.py").read_text() == "v1\n"
    assert (repo.path / "src/b.py").read_text() == "b1\n"
    assert not (repo.path / "src/c.py").exists()
    assert repo.git("write-tree").strip() == pygit2.Repository(str(repo.path))[cp].tree_id.__str__()


def test_rollback_refuses_uncommitted_work_then_force_backs_up(repo: Repo) -> None:
    repo.write("a.txt", "one\n")
    repo.commit("one")
    cp = _checkpoint(repo)
    repo.write("a.txt", "two\n")
    repo.commit("two")
    repo.write("a.txt", "precious unstaged\n")
    repo.write("b.txt", "untracked\n")
    before = (repo.path / "a.txt").read_bytes(), (repo.path / ".git" / "index").read_bytes()
    proc = repo.gatekit("rollback", "main")
    assert proc.returncode == 2
    assert "uncommitted" in proc.stderr
    assert (
        (repo.path / "a.txt").read_bytes(),
        (repo.path / ".git" / "index").read_bytes(),
    ) == before
    proc = repo.gatekit("rollback", "main", "--force")
    assert proc.returncode == 0, proc.stderr
    assert (repo.path / "a.txt").read_text() == "one\n"
    assert (
        repo.path / "b.txt"
    ).read_text() == "untracked\n"  # untracked and not in the target: left alone
    backup = next(iter_checkpoints(pygit2.Repository(str(repo.path)), "rollback-backup"))
    assert backup.id in proc.stdout
    assert repo.git("show", f"{backup.id}:a.txt") == "precious unstaged\n"
    assert repo.git("show", f"{backup.id}:b.txt") == "untracked\n"
    assert cp != backup.id


def test_rollback_paths_only(repo: Repo) -> None:
    repo.write("src/a.py", "a1\n")
    repo.write("docs/x.md", "x1\n")
    repo.commit("1")
    cp = _checkpoint(repo)
    repo.write("src/a.py", "a2\n")
    repo.write("docs/x.md", "x2\n")
    repo.commit("2")
    proc = repo.gatekit("rollback", cp, "--paths", "src/**")
    assert proc.returncode == 0, proc.stderr
    assert (repo.path / "src/a.py").read_text() == "a1\n"
    assert (repo.path / "docs/x.md").read_text() == "x2\n"


def test_untracked_file_in_the_way_refuses(repo: Repo) -> None:
    repo.write("n.txt", "tracked then\n")
    repo.commit("n")
    cp = _checkpoint(repo)
    repo.git("rm", "-q", "n.txt")
    repo.commit("rm")
    repo.write("n.txt", "mine now\n")
    proc = repo.gatekit("rollback", cp)
    assert proc.returncode == 2 and "untracked" in proc.stderr
    assert (repo.path / "n.txt").read_text() == "mine now\n"


def test_glob_regex() -> None:
    assert glob_regex("src/**").match("src/a/b.py")
    assert glob_regex("*.py").match("a.py") and not glob_regex("*.py").match("d/a.py")
    assert glob_regex("**/*.py").match("d/e/a.py") and glob_regex("**/*.py").match("a.py")
    assert glob_regex("docs").match("docs/x.md")


def test_log_show_and_promote_commands(repo: Repo) -> None:
    repo.write("a.py", "x  \n")
    repo.git("add", "a.py")
    pr = pygit2.Repository(str(repo.path))
    tree = repo.git("write-tree").strip()
    fixed = pr.create_blob(b"x\n")
    tb = pr.TreeBuilder(pr[tree])
    tb.insert("a.py", fixed, pygit2.enums.FileMode.BLOB)
    fix_tree = str(tb.write())
    _checkpoint(repo, outcomes={"unit": Outcome.FAILED})
    cp = _checkpoint(
        repo, outcomes={"fmt": Outcome.PASSED, "unit": Outcome.PASSED}, fix_tree=fix_tree
    )
    log = repo.gatekit("log")
    assert log.returncode == 0, log.stderr
    lines = log.stdout.splitlines()
    assert (
        len(lines) == 2
        and lines[0].startswith(cp[:12])
        and "passed" in lines[0]
        and "unit=failed" in lines[1]
    )
    data = json.loads(repo.gatekit("log", "--json", "-n", "1").stdout)
    assert len(data) == 1 and data[0]["records"][0]["checkpoint"] == cp
    show = repo.gatekit("show", "main~1")
    assert show.returncode == 0 and "unit said no" in show.stdout and "logs/unit.log" in show.stdout
    assert json.loads(repo.gatekit("show", cp, "--json").stdout)["checkpoint"] == cp
    promote = repo.gatekit("promote", cp)
    assert promote.returncode == 0, promote.stderr
    assert (repo.path / "a.py").read_text() == "x\n" and repo.git("show", ":a.py") == "x\n"
    again = repo.gatekit("promote", cp)  # the staged a.py is no longer the checked one
    assert again.returncode == 2 and "refused" in again.stderr
