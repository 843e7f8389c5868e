"""``gatekit check --ci`` (and ``collect --ci``) around the engine: the context from
the event, masks and pending statuses before the gates, everything after."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gatekit.github.ci import CiObserver, publish
from gatekit.github.event import CiEvent

if TYPE_CHECKING:
    from gatekit.git.candidate import Candidate
    from gatekit.github.api import GitHubApi
    from gatekit.github.statuses import Target
    from gatekit.plan.model import GatePlan
    from gatekit.results import RunResult


class CiRun:
    def __init__(self, environ: Mapping[str, str], stream: TextIO, statuses: bool = False) -> None:
        from gatekit.github.session import prepare

        self.environ = environ
        self.stream = stream
        self.event: CiEvent
        self.event, self.messages = prepare(environ)
        self.statuses = statuses
        self._api: GitHubApi | None = None
        self._forbidden = False
        if statuses and self.event.fork and self.event.name == "pull_request":
            # GitHub gives a fork's pull_request run a read-only token: do not even try
            self._forbidden = True
            self._say("a fork's pull request has a read-only token: annotations only, no statuses")
        self.observer = CiObserver(
            stream, self._pending if statuses and not self._forbidden else None
        )

    def chain(self, override: str | None, shard: tuple[int, int] | None) -> str:
        base = override or self.event.chain
        return f"{base}-shard-{shard[0]}of{shard[1]}" if shard else base

    def seed(self, chain: str) -> None:
        from gatekit.git.repo import open_repo
        from gatekit.github.session import seed_chain
        from gatekit.record.checkpoints import sanitize_chain

        seed_chain(open_repo("."), sanitize_chain(chain))

    # -- statuses --------------------------------------------------------------------
    def _target(self) -> Target:
        from gatekit.github.statuses import target_from_env

        return target_from_env(self.environ, self.event.head_sha)

    def api(self) -> GitHubApi:
        if self._api is None:
            from gatekit.github.api import GitHubApi

            self._api = GitHubApi.from_env(self.environ)
        return self._api

    def _say(self, text: str) -> None:
        self.stream.write(f"gatekit: {text}\n")
        self.stream.flush()

    def _pending(self, plan: GatePlan, candidate: Candidate) -> None:
        from gatekit.github.api import ApiError
        from gatekit.github.statuses import publish_pending

        gates = [g.id for g in plan.gates if g.decision.value == "run"]
        try:
            report = publish_pending(self.api(), self._target(), gates)
        except ApiError as exc:
            self._say(f"pending statuses not set: {exc.message}")
            return
        if report.forbidden:
            self._forbidden = True
            self._say(report.messages[0])

    def finish(self, result: RunResult, run_dir: Path | None, title: str = "gatekit") -> None:
        if result.shard:
            title = f"{title} (shard {result.shard})"
        publish(result, run_dir, self.environ, self.stream, groups=run_dir is not None, title=title)
        if not self.statuses or self._forbidden:
            return
        from gatekit.github.api import ApiError
        from gatekit.github.statuses import publish as publish_statuses
        from gatekit.reports.summary import build_summary

        try:
            report = publish_statuses(
                self.api(), self._target(), result, build_summary(result, run_dir)
            )
        except ApiError as exc:
            self._say(f"statuses not published: {exc.message}")
            return
        for note in [*self.api().notes, *report.messages]:
            self._say(note)
        self._say(
            f"published {report.statuses} commit status(es) on {self.event.head_sha[:12]}"
            + (f", check run {report.check_run}" if report.check_run else "")
        )
