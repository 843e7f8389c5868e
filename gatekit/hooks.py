"""Install gatekit as git's pre-commit / pre-push hook (and remove it again)."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from gatekit.errors import UsageError

MARKER = "# installed by gatekit: do not edit (gatekit hook uninstall removes it)"

HOOK_ARGS = {
    "pre-commit": ["check", "--event", "pre-commit", "--staged"],
    # git passes the remote's name and URL, and the pushed refs on stdin
    "pre-push": ["pre-push"],
}


@dataclass(frozen=True)
class HookChange:
    hook: str
    path: Path
    action: str  # installed | replaced | removed | restored | absent


def hook_script(hook: str, python: str | None = None) -> str:
    """The hook: a foreign hook kept as ``<hook>.legacy`` (``install --force``) runs first,
    with the same arguments (and, for pre-push, the same stdin), as pre-commit chains one;
    if it fails, so does the hook."""
    run = f'{shlex.join([python or sys.executable, "-m", "gatekit", *HOOK_ARGS[hook]])} "$@"'
    legacy = shlex.quote(f"{hook}.legacy")
    head = f'#!/bin/sh\n{MARKER}\nlegacy="$(dirname "$0")"/{legacy}\n'
    if hook in STDIN_HOOKS:
        return head + (
            'if [ -x "$legacy" ]; then\n'
            '  input="$(cat; echo x)"\n'
            '  input="${input%x}"\n'
            '  printf \'%s\' "$input" | "$legacy" "$@" || exit $?\n'
            f"  printf '%s' \"$input\" | {run}\n"
            "  exit $?\n"
            "fi\n"
            f"exec {run}\n"
        )
    return head + f'if [ -x "$legacy" ]; then\n  "$legacy" "$@" || exit $?\nfi\nexec {run}\n'


STDIN_HOOKS = frozenset({"pre-push"})  # git writes the pushed refs on the hook's stdin


def hooks_dir(git_common_dir: Path, core_hooks_path: str | None, workdir: Path) -> Path:
    if core_hooks_path:
        path = Path(os.path.expanduser(core_hooks_path))
        return path if path.is_absolute() else workdir / path
    return git_common_dir / "hooks"


def install(directory: Path, hook: str, force: bool = False) -> HookChange:
    if hook not in HOOK_ARGS:
        raise UsageError(f"unknown hook '{hook}': gatekit installs {', '.join(HOOK_ARGS)}")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / hook
    action = "installed"
    if path.exists() and MARKER not in path.read_text(errors="replace"):
        if not force:
            raise UsageError(
                f"{path} exists and was not installed by gatekit",
                tip="rerun with --force to keep it as "
                + path.name
                + ".legacy and install gatekit's",
            )
        path.replace(path.with_name(hook + ".legacy"))
        action = "replaced"
    tmp = path.with_name(f".{hook}.gatekit-tmp")
    tmp.write_text(hook_script(hook))
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    tmp.replace(path)
    return HookChange(hook, path, action)


def uninstall(directory: Path, hook: str) -> HookChange:
    path = directory / hook
    if not path.exists() or MARKER not in path.read_text(errors="replace"):
        return HookChange(hook, path, "absent")
    path.unlink()
    legacy = path.with_name(hook + ".legacy")
    if legacy.exists():
        legacy.replace(path)
        return HookChange(hook, path, "restored")
    return HookChange(hook, path, "removed")
