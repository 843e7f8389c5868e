"""gatekit init: write a validation.yaml for this repository (and, asked, the git hook)."""

from __future__ import annotations

import argparse

HELP = "write a validation.yaml from .pre-commit-config.yaml, noxfile.py or pyproject.toml"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stdout", action="store_true", help="print the file instead of writing it")
    p.add_argument("--hook", action="store_true", help="also install gatekit as the git hook")
    p.add_argument(
        "--force",
        action="store_true",
        help="with --hook: replace a hook gatekit did not install: pre-commit's own is set"
        " aside (its hooks are the gates), any other is kept as pre-commit.legacy and runs"
        " first",
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gatekit.errors import UsageError
    from gatekit.git.repo import open_repo, workdir
    from gatekit.init import init_text

    root = Path(workdir(open_repo(".")))
    text = init_text(root)
    if args.stdout:
        print(text, end="")
    else:
        target = root / "validation.yaml"
        if target.exists() or (root / "validation.yml").exists():
            raise UsageError(
                f"{target.name} exists: gatekit init never overwrites it",
                tip="gatekit init --stdout prints what it would write",
            )
        target.write_text(text, encoding="utf-8")
        print(f"gatekit: wrote {target}")
    if args.hook:
        _install_hook(args.force)
    return 0


def _install_hook(force: bool) -> None:
    """gatekit's pre-commit hook (see gatekit.hooks.install: with --force, pre-commit's
    own hook is set aside, as its hooks are the gates now; any other is chained)."""
    from gatekit.commands import hook

    hook.run(argparse.Namespace(action="install", hook=["pre-commit"], force=force))
