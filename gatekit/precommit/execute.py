"""One attempt of a pre-commit gate: the hook's entry in its environment, on its files.

No Nox session: the environment is the one pre-commit built. Files go in batches
small enough for one command line, in pre-commit's (sorted) order.
"""

from __future__ import annotations

import dataclasses
import shlex
import time
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING

from gatekit.errors import GatekitError
from gatekit.results import Outcome
from gatekit.run.retry import AttemptReport, TransientMatcher, judge

if TYPE_CHECKING:
    from pathlib import Path

    from gatekit.plan.model import PlannedGate
    from gatekit.precommit.resolve import ResolvedHook
    from gatekit.run import limits, sandbox
    from gatekit.run.gate import GateRunner

MAX_ARGS_BYTES = 1 << 17  # pre-commit's own cap on one command line


def batches(argv: Sequence[str], files: Sequence[str]) -> Iterator[list[str]]:
    """``argv`` + files, split so that no command line exceeds :data:`MAX_ARGS_BYTES`."""
    base = sum(len(a) + 1 for a in argv)
    chunk: list[str] = []
    size = base
    for f in files:
        if chunk and size + len(f) + 1 > MAX_ARGS_BYTES:
            yield [*argv, *chunk]
            chunk, size = [], base
        chunk.append(f)
        size += len(f) + 1
    yield [*argv, *chunk]


def attempt(
    runner: GateRunner,
    gate: PlannedGate,
    box: sandbox.Sandbox,
    log: IO[str],
    matcher: TransientMatcher,
    number: int,
    watch: limits.LimitWatch,
) -> AttemptReport:
    from gatekit.precommit.gatehook import HookSource, bytecode_env, tool_cache_env
    from gatekit.precommit.resolve import hook_env

    t0 = time.monotonic()
    source = runner.hooks.pre_commit
    if not isinstance(source, HookSource):
        return AttemptReport(
            Outcome.ERROR, 0.0, failure_class="deterministic", reason="no pre-commit hooks here"
        )
    runner.phase(gate.id, "install", attempt=number)
    try:
        prepared = source.prepare(gate, runner.shadow.path)
    except GatekitError as exc:
        log.write(f"=== gatekit: {exc} ===\n")
        return AttemptReport(
            Outcome.ERROR,
            time.monotonic() - t0,
            failure_class="deterministic",
            reason=str(exc),
            phase="install",
        )
    except Exception as exc:  # pre-commit could not clone or build: worth a retry
        log.write(f"=== gatekit: pre-commit could not prepare the hook: {exc} ===\n")
        return AttemptReport(
            Outcome.ERROR,
            time.monotonic() - t0,
            failure_class="transient",
            reason=f"pre-commit could not prepare hook '{gate.pre_commit}': {exc}",
            phase="install",
        )
    hook, files = prepared.hook, prepared.files
    runner.phase(gate.id, "running", attempt=number)
    if not files and not hook.always_run:
        log.write(f"{hook.id}: no files to check\n")
        return AttemptReport(
            Outcome.PASSED, time.monotonic() - t0, exit_code=0, notes=("no files to check",)
        )
    if hook.language == "fail":
        log.write(hook.entry + "\n" + "\n".join(files) + "\n")
        return AttemptReport(
            Outcome.FAILED,
            time.monotonic() - t0,
            exit_code=1,
            failure_class="deterministic",
            reason=f"hook {hook.id}: {hook.entry}",
        )
    env = {
        **hook_env(hook, box.env),
        "PRE_COMMIT": "1",
        **tool_cache_env(source.repo, box.env),
        **bytecode_env(runner.environ),
    }
    env_box = dataclasses.replace(box, env=env)
    deadline = time.monotonic() + gate.timeout
    commands, shown = hook_commands(hook, files, box.tmp, number)
    failed: AttemptReport | None = None
    for command, given in commands:
        log.write(f"$ {shown} ({given} file(s))\n")
        log.flush()
        starter = source.fork_starter(hook, command, env, env_box)
        left = deadline - time.monotonic()
        res = runner._proc(gate, command, env_box, log, matcher, left, watch, starter)
        breach = watch.ended(res)
        if breach is not None:
            return breach.report(shown, res.exit_code, time.monotonic() - t0)
        report = judge(gate.retries, gate.timeout, res, shown, matcher, time.monotonic() - t0)
        if report is not None and (res.stopped or res.timed_out or res.error is not None):
            return report
        if report is not None and failed is None:
            failed = report
    if failed is not None:
        return dataclasses.replace(
            failed, reason=f"hook {hook.id}: {failed.reason}", duration=time.monotonic() - t0
        )
    return AttemptReport(Outcome.PASSED, time.monotonic() - t0, exit_code=0, command=shown)


def hook_commands(
    hook: ResolvedHook, files: Sequence[str], tmp: Path, number: int = 1
) -> tuple[list[tuple[list[str], int]], str]:
    """The commands that run ``hook`` on ``files`` (each with how many files it is given),
    and the command as a person reads it."""
    from gatekit.precommit.resolve import DIRECT_LANGUAGES, hook_argv

    given = files if hook.pass_filenames else ()
    if hook.language in DIRECT_LANGUAGES:
        argv = hook_argv(hook)
        shown = shlex.join(argv if hook.language != "pygrep" else ["pygrep", *argv[4:]])
        return [(c, len(c) - len(argv)) for c in batches(argv, given)], shown
    # pre-commit's own implementation of the language runs it, with every file
    shown = f"{shlex.join([hook.entry, *hook.args])} [{hook.language}, via pre-commit]"
    return [(_through_pre_commit(hook, given, tmp, number), len(given))], shown


def _through_pre_commit(
    hook: ResolvedHook, files: Sequence[str], tmp: Path, number: int
) -> list[str]:
    """The command that runs ``hook`` through pre-commit's language module (langrun)."""
    import sys

    from gatekit.precommit.langrun import write_spec

    spec = tmp / f"gatekit-hook-{number}.json"
    write_spec(
        spec,
        {
            "language": hook.language,
            "prefix": hook.prefix,
            "language_version": hook.language_version,
            "entry": hook.entry,
            "args": list(hook.args),
            "files": list(files),
            "is_local": hook.repo == "local",
            "require_serial": hook.require_serial,
        },
    )
    # -I: gatekit's own modules, never a package of that name in the candidate (the cwd)
    return [sys.executable, "-I", "-m", "gatekit.precommit.langrun", str(spec)]
