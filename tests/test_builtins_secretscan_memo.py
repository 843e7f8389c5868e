"""Scans are memoised on (path, bytes, settings): the same answer, never a stale one."""

from __future__ import annotations

from pathlib import Path

from builtin_support import hexish

from gatekit.builtins import _secretscan
from gatekit.builtins._secretscan import scan_files, settings

AWS = "AKIA" + "ZX3Q7HB2" + "K9PLM4TD"


def _scan(root: Path, *paths: str) -> list[tuple[str, int, str, str]]:
    with settings(None):
        return [(h.path, h.line, h.type, h.value) for h in scan_files(root, list(paths))]


def test_memo_gives_the_same_hits_and_follows_the_bytes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(f"key = '{AWS}'\n")
    (tmp_path / "b.py").write_text("nothing = 1\n")
    first = _scan(tmp_path, "a.py", "b.py")
    assert [(p, line) for p, line, _, _ in first] == [("a.py", 1)]
    assert any(str(tmp_path / "a.py") == k[0] for k in _secretscan._SCANNED)
    assert _scan(tmp_path, "a.py", "b.py") == first  # from the memo

    # new bytes: scanned again, never the old answer
    (tmp_path / "a.py").write_text(f"x = 1\n\nkey = '{AWS}'\n")
    assert [(p, line) for p, line, _, _ in _scan(tmp_path, "a.py")] == [("a.py", 3)]
    (tmp_path / "a.py").write_text("x = 1\n")
    assert _scan(tmp_path, "a.py") == []
    (tmp_path / "b.py").write_text(f"token = '{hexish('memo', 40)}'\nkey = '{AWS}'\n")
    assert {line for _, line, _, _ in _scan(tmp_path, "b.py")} >= {2}


def test_no_memo_outside_settings(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(f"key = '{AWS}'\n")
    assert _secretscan._settings_key == ""
    before = dict(_secretscan._SCANNED)
    from detect_secrets.settings import default_settings

    with _secretscan._LOCK, default_settings():
        hits = scan_files(tmp_path, ["a.py"])
    assert [h.line for h in hits] == [1]
    assert before == _secretscan._SCANNED
