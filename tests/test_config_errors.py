"""A corpus of broken validation.yaml files, each with the exact lines gatekit must print.

Every ``tests/data/broken/NAME.yaml`` is copied to ``validation.yaml`` in a fresh
directory (with the files of ``NAME.files/`` next to it, for ``extends``) and
loaded; ``NAME.expected`` holds the exact ``file:line:col: path: message``
lines, in order. To add a case, write the YAML and its expected lines by hand.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import git, run_gatekit

from gatekit.cli import main
from gatekit.config.loader import load_config
from gatekit.errors import ConfigError

BROKEN = Path(__file__).parent / "data" / "broken"
CASES = sorted(p.stem for p in BROKEN.glob("*.yaml"))
LINE = re.compile(r"^[\w./-]+\.ya?ml:[1-9]\d*:[1-9]\d*: (?:[^ ]+: )?\S.*$")


def _install(case: str, where: Path) -> Path:
    shutil.copy(BROKEN / f"{case}.yaml", where / "validation.yaml")
    extra = BROKEN / f"{case}.files"
    if extra.is_dir():
        shutil.copytree(extra, where, dirs_exist_ok=True)
    return where


def _expected(case: str) -> list[str]:
    return (BROKEN / f"{case}.expected").read_text(encoding="utf-8").splitlines()


def test_corpus_is_large_and_complete() -> None:
    assert len(CASES) >= 25
    for case in CASES:
        assert (BROKEN / f"{case}.expected").is_file(), f"{case}.yaml has no .expected file"
        assert _expected(case), f"{case}.expected is empty"


@pytest.mark.parametrize("case", CASES)
def test_broken_config_reports_exact_lines(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _install(case, tmp_path)
    monkeypatch.chdir(root)
    with pytest.raises(ConfigError) as info:
        load_config(root)
    lines = [issue.render() for issue in info.value.issues]
    assert lines == _expected(case)
    for issue in info.value.issues:
        assert issue.line >= 1 and issue.col >= 1
        assert "\n" not in issue.message
    for line in lines:
        assert LINE.match(line), line


@pytest.mark.parametrize("case", CASES)
def test_cli_exit_2_and_errors_on_stderr(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _install(case, tmp_path)
    git(root, "init", "-q", "-b", "main")
    monkeypatch.chdir(root)
    code = main(["plan", "--changed", "x.py"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    expected = _expected(case)
    noun = "error" if len(expected) == 1 else "errors"
    assert err.splitlines() == [*expected, f"gatekit: {len(expected)} configuration {noun}"]
    assert "Traceback" not in err


@pytest.mark.parametrize("case", ["several-errors", "malformed-unclosed-flow", "extends-cycle"])
def test_cli_subprocess_no_traceback(case: str, tmp_path: Path) -> None:
    root = _install(case, tmp_path)
    git(root, "init", "-q", "-b", "main")
    proc = run_gatekit(root, "plan", "--changed", "x.py")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[: len(_expected(case))] == _expected(case)


def test_config_option_names_the_file(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    conf = tmp_path / "ci" / "gates.yaml"
    conf.parent.mkdir()
    conf.write_text("gates:\n  - id: lint\n    nox: lint\n    timout: 5m\n")
    proc = run_gatekit(tmp_path, "plan", "--changed", "x", "--config", "ci/gates.yaml")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == (
        "ci/gates.yaml:4:5: gates[0].timout: unknown key 'timout' (did you mean 'timeout'?)"
    )


def test_missing_config_option_is_a_usage_error(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    proc = run_gatekit(tmp_path, "plan", "--changed", "x", "--config", "nope.yaml")
    assert proc.returncode == 2
    assert "config file not found: nope.yaml" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# only a comment\n", "~\n", "---\n", "null\n", "{}\n"]
)
def test_empty_file_is_a_valid_config_with_no_gates(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "validation.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    loaded = load_config(tmp_path)
    assert loaded.config.gates == []
    assert loaded.source == "validation.yaml"


def test_yaml_merge_keys_override_without_duplicate_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "validation.yaml").write_text(
        "gates:\n  - &lint {id: lint, timeout: 5m, nox: lint}\n  - {<<: *lint, id: style, nox: style}\n"
    )
    monkeypatch.chdir(tmp_path)
    gates = load_config(tmp_path).config.gates
    assert [(g.id, g.nox, g.timeout) for g in gates] == [
        ("lint", "lint", "5m"),
        ("style", "style", "5m"),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", "expected true or false, got string 'yes'"),
        ("on", "expected true or false, got string 'on'"),
        ('"true"', "expected true or false, got string 'true'"),
        ("1", "expected true or false, got number 1"),
    ],
)
def test_yaml_1_1_booleans_are_not_booleans(
    value: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "validation.yaml").write_text(f"gates:\n  - id: a\n    nox: a\n    fix: {value}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert [i.render() for i in info.value.issues] == [
        f"validation.yaml:4:10: gates[0].fix: {expected}"
    ]


def test_extends_never_reads_outside_the_repository(tmp_path: Path) -> None:
    """A symlink or an absolute path out of the repository is refused (nothing is read);
    a --config file outside the repository may extend what lies beside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "base.yaml").write_text("gates:\n  - id: beside\n    session: {run: ['true']}\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "link").symlink_to(outside)
    (repo / "validation.yaml").write_text(
        f"extends: [link/base.yaml, {outside / 'base.yaml'}]\ngates: []\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(repo)
    lines = str(err.value).splitlines()
    assert lines[0].endswith(
        "validation.yaml:1:11: extends[0]: 'link/base.yaml' is outside the repository "
        "(an extended file must be in it)"
    )
    assert "validation.yaml:1:27: extends[1]: " in lines[1]
    assert lines[1].endswith("is outside the repository (an extended file must be in it)")
    # named on the command line, a config may extend its own neighbours
    (outside / "top.yaml").write_text("extends: base.yaml\ngates: []\n")
    loaded = load_config(repo, str(outside / "top.yaml"))
    assert [g.id for g in loaded.config.gates] == ["beside"]
