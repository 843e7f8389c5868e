"""Hook repositories for pre-commit gate tests: clones of the bundles in the shared data."""

from __future__ import annotations

import subprocess
from pathlib import Path

BUNDLES = next(
    (
        p / "shared" / "data" / "hook-repos"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data" / "hook-repos").is_dir()
    ),
    Path("/work/shared/data/hook-repos"),
)
HOOKS_BUNDLE = "pre-commit-hooks-v6.0.0.bundle"
RUFF_BUNDLE = "ruff-pre-commit-v0.16.4.bundle"
HOOKS_REV = "v6.0.0"
RUFF_REV = "v0.16.4"


def clone_bundle(bundle: str, dest: Path) -> Path:
    subprocess.run(
        ["git", "clone", "-q", str(BUNDLES / bundle), str(dest)], check=True, capture_output=True
    )
    return dest


def config(hooks_repo: Path, ruff_repo: Path, extra: str = "") -> str:
    return f"""repos:
-   repo: {hooks_repo}
    rev: {HOOKS_REV}
    hooks:
    -   id: end-of-file-fixer
    -   id: trailing-whitespace
    -   id: check-yaml
    -   id: check-added-large-files
-   repo: {ruff_repo}
    rev: {RUFF_REV}
    hooks:
    -   id: ruff-check
    -   id: ruff-format
{extra}"""


NODE_HOOK = """#!/usr/bin/env node
const fs = require("fs");
let bad = 0;
for (const f of process.argv.slice(2)) {
  if (fs.readFileSync(f, "utf8").includes("\\t")) {
    console.log(`${f}: has a tab`);
    bad = 1;
  }
}
process.exit(bad);
"""


def node_hook_repo(dest: Path) -> tuple[Path, str]:
    """A hook repository of ``language: node`` (hook ``no-tabs``): its path and commit.

    Its package has no dependencies, so pre-commit builds its environment from the
    system node and npm without the registry."""
    dest.mkdir(parents=True)
    (dest / "package.json").write_text(
        '{"name": "no-tabs", "version": "1.0.0", "bin": {"no-tabs": "bin.js"}}\n'
    )
    (dest / "bin.js").write_text(NODE_HOOK)
    (dest / "bin.js").chmod(0o755)
    (dest / ".pre-commit-hooks.yaml").write_text(
        "-   id: no-tabs\n    name: no tabs\n    entry: no-tabs\n    language: node\n"
        "    types: [text]\n"
    )
    return _commit_all(dest)


def pre_commit_run(path: Path, *args: str) -> tuple[dict[str, str], str]:
    """``pre-commit run --all-files -v``: hook name -> Passed/Failed/Skipped, and its output."""
    import os
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "-v", "--color", "never", *args],
        cwd=path,
        capture_output=True,
        text=True,
        env={**os.environ, "SKIP": ""},
        check=False,
    )
    out: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        for word in ("Passed", "Failed", "Skipped"):
            if line.endswith(word) and "..." in line:
                out[line.split("...")[0].strip(". ")] = word
    return out, proc.stdout


RUST_MAIN = """use std::fs;
fn main() {
    let mut bad = 0;
    for f in std::env::args().skip(1) {
        if fs::read(&f).map(|d| d.windows(2).any(|w| w == b"\\r\\n")).unwrap_or(false) {
            println!("{}: has CRLF", f);
            bad = 1;
        }
    }
    std::process::exit(bad);
}
"""


def rust_hook_repo(dest: Path) -> tuple[Path, str]:
    """A hook repository of ``language: rust`` (hook ``no-crlf``, a crate without
    dependencies: pre-commit builds it with the system cargo, offline)."""
    (dest / "src").mkdir(parents=True)
    (dest / "Cargo.toml").write_text(
        '[package]\nname = "no-crlf"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
    )
    (dest / "src" / "main.rs").write_text(RUST_MAIN)
    (dest / ".pre-commit-hooks.yaml").write_text(
        "-   id: no-crlf\n    name: no crlf\n    entry: no-crlf\n    language: rust\n"
        "    types: [text]\n"
    )
    return _commit_all(dest)


def _commit_all(dest: Path) -> tuple[Path, str]:
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "hook"]):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=dest, check=True, capture_output=True, text=True
    ).stdout.strip()
    return dest, rev


PROBE_MAIN = '''"""A hook that reports how it was started, and ends as its arguments say."""
import json
import os
import resource
import sys
import tempfile
import time

AT_IMPORT = tempfile.gettempdir()  # tempfile keeps what it found first


def umask():
    for line in open("/proc/self/status"):
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    return -1


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    flags = [a for a in args if a.startswith("--")]
    files = [a for a in args if not a.startswith("--")]
    parent = open(f"/proc/{os.getppid()}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
    print("PROBE " + json.dumps({
        "argv0": sys.argv[0],
        "cwd": os.getcwd(),
        "files": len(files),
        "home": os.environ.get("HOME"),
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "parent": parent,
        "ppid": os.getppid(),
        "pid": os.getpid(),
        "umask": umask(),
        "pycache_prefix": sys.pycache_prefix,
        "pgid_is_pid": os.getpgid(0) == os.getpid(),
        "tmp": tempfile.gettempdir(),
        "warnings": os.environ.get("PYTHONWARNINGS"),
        "cgroup": open("/proc/self/cgroup").read().strip(),
    }, sort_keys=True))
    sys.stdout.flush()
    if "--write" in flags:
        with open("probe-wrote.txt", "w") as f:
            f.write("written by the probe\\n")
    if "--kill-server" in flags:
        # only its fork server: started as a process, its parent would be gatekit itself
        if "_forkserver/server.py" not in parent:
            sys.exit("probe: not forked by a fork server; parent: " + parent)
        os.kill(os.getppid(), 9)
    if "--sleep" in flags:
        time.sleep(60)
    if "--boom" in flags:
        raise RuntimeError("probe exploded")
    if "--say" in flags:
        sys.exit("probe says no")
    for flag in flags:
        if flag.startswith("--exit="):
            return int(flag.split("=", 1)[1])
    return 0
'''


def probe_hook_repo(dest: Path) -> tuple[Path, str]:
    """A hook repository of ``language: python`` whose hook ``probe`` is a console script
    (``probe-hook = probe:main``) that prints how it was started (see PROBE_MAIN)."""
    dest.mkdir(parents=True)
    (dest / "probe.py").write_text(PROBE_MAIN)
    (dest / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(name='probe-hook', version='1.0', py_modules=['probe'],\n"
        "      entry_points={'console_scripts': ['probe-hook = probe:main']})\n"
    )
    (dest / ".pre-commit-hooks.yaml").write_text(
        "-   id: probe\n    name: probe\n    entry: probe-hook\n    language: python\n"
        "    types: [text]\n"
    )
    return _commit_all(dest)
