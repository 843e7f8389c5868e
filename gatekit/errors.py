"""The error family and the exit codes every command uses.

Exit codes (documented in the README):
  0 pass, 1 a gate failed, 2 usage or configuration error,
  3 a manual action is required, 4 promotion refused because the target moved,
  130 interrupted.
"""

from __future__ import annotations

import enum

from gatekit.lazyclass import dataclass


class ExitCode(enum.IntEnum):
    PASS = 0
    GATE_FAILED = 1
    USAGE = 2
    MANUAL_REQUIRED = 3
    TARGET_MOVED = 4
    INTERRUPTED = 130


class GatekitError(Exception):
    """An error meant for a person: what happened, where, what to do next."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, tip: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tip = tip

    def render(self) -> str:
        text = f"gatekit: error: {self.message}"
        if self.tip:
            text += f"\ngatekit: tip: {self.tip}"
        return text


class UsageError(GatekitError):
    exit_code = ExitCode.USAGE


class RepositoryError(GatekitError):
    """The repository cannot be used (not a repo, unsupported format, ...)."""

    exit_code = ExitCode.USAGE


class CandidateError(GatekitError):
    """A candidate tree cannot be built (merge conflicts, bad revision, ...)."""

    exit_code = ExitCode.USAGE


class TargetMovedError(GatekitError):
    """A compare-and-swap ref update found the target elsewhere than expected."""

    exit_code = ExitCode.TARGET_MOVED


class UnsafePathError(GatekitError):
    """A path or symlink escapes the repository or the shadow."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True, order=True)
class ConfigIssue:
    """One configuration mistake, located in a file."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def render(self) -> str:
        """One line, whatever the file holds (control characters are escaped)."""
        where = f"{self.file}:{self.line}:{self.col}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class ConfigError(GatekitError):
    """One or more configuration mistakes, reported together."""

    exit_code = ExitCode.USAGE

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(set(issues))
        super().__init__("\n".join(i.render() for i in self.issues))

    def render(self) -> str:
        count = len(self.issues)
        noun = "error" if count == 1 else "errors"
        return (
            "\n".join(i.render() for i in self.issues) + f"\ngatekit: {count} configuration {noun}"
        )
