"""gatekit hook: install or remove gatekit as git's pre-commit / pre-push hook."""

from __future__ import annotations

import argparse

HELP = "install or uninstall gatekit as the git pre-commit / pre-push hook"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("install", "uninstall"))
    p.add_argument(
        "--hook",
        action="append",
        choices=("pre-commit", "pre-push"),
        help="which hook (default: pre-commit); repeatable",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a hook gatekit did not install (kept as HOOK.legacy)",
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gatekit.git.repo import common_dir, open_repo, workdir
    from gatekit.hooks import hooks_dir, install, uninstall

    repo = open_repo(".")
    config = repo.config  # pygit2.Config has no .get()
    configured = config["core.hooksPath"] if "core.hooksPath" in config else None  # noqa: SIM401
    directory = hooks_dir(common_dir(repo), configured, Path(workdir(repo)))
    for hook in args.hook or ["pre-commit"]:
        change = (
            install(directory, hook, args.force)
            if args.action == "install"
            else uninstall(directory, hook)
        )
        print(f"gatekit: {hook} hook {change.action}: {change.path}")
        if change.set_aside is not None:
            print(
                f"gatekit: pre-commit's {hook} hook set aside as {change.set_aside}, not run:"
                " gatekit runs the hooks of .pre-commit-config.yaml as gates (with no"
                " validation.yaml, or with `extends: pre-commit`), and running pre-commit's"
                " hook too would run each of them twice (`gatekit hook uninstall`, then"
                f" `pre-commit install -f --hook-type {hook}`, brings it back)"
            )
        if change.chained is not None and args.action == "install":
            print(f"gatekit: {change.chained} runs first, before gatekit")
    return 0
