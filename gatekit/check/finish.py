"""After the gates of gatekit check: approvals, the guard's findings, reports,
promotion and the apply of fixes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gatekit.errors import UsageError
from gatekit.results import GateResult, Outcome, Verdict

if TYPE_CHECKING:
    from pathlib import Path

    import pygit2

    from gatekit.check.request import CheckReport, CheckRequest
    from gatekit.git.candidate import Candidate
    from gatekit.git.guard import GuardChange


def apply_approvals(
    repo: pygit2.Repository, tree: str, results: list[GateResult]
) -> list[GateResult]:
    """A manual gate approved for this very tree counts as approved."""
    if not any(r.outcome is Outcome.MANUAL_PENDING for r in results):
        return results
    from gatekit.record.approvals import approvals_for

    approved = approvals_for(repo, tree)
    out = []
    for r in results:
        a = approved.get(r.id)
        if r.outcome is Outcome.MANUAL_PENDING and a is not None:
            r = r.model_copy(
                update={"outcome": Outcome.APPROVED, "reason": f"approved by {a.by} at {a.at}"}
            )
        out.append(r)
    return out


def guard_results(changes: list[GuardChange]) -> list[GateResult]:
    """Changes to the main repository during the gates: a failure when a gate made them,
    an advisory (not required) result when the user may have (another terminal)."""
    by_gate = [c.text for c in changes if c.by_gate]
    unsure = [c.text for c in changes if not c.by_gate]
    out = []
    if by_gate:
        reason = "a gate wrote into the main repository: " + "; ".join(by_gate)
        out.append(
            GateResult(id="gatekit-guard", outcome=Outcome.ERROR, reason=reason, required=True)
        )
    if unsure:
        reason = "the main repository changed during the check (by you or by a gate): " + "; ".join(
            unsure
        )
        out.append(
            GateResult(
                id="gatekit-guard-notice", outcome=Outcome.ERROR, reason=reason, required=False
            )
        )
    return out


def write_reports(request: CheckRequest, report: CheckReport, run_dir: Path) -> None:
    if request.junit_xml is not None:
        from gatekit.reports.junit import write_junit_xml

        write_junit_xml(request.junit_xml, report.result.gates, run_dir)
        report.messages.append(f"JUnit written to {request.junit_xml}")
    if request.sarif is not None:
        from gatekit.reports.sarif import write_sarif

        write_sarif(request.sarif, report.result.gates)
        report.messages.append(f"SARIF written to {request.sarif}")


def promote(
    repo: pygit2.Repository, request: CheckRequest, candidate: Candidate, report: CheckReport
) -> None:
    from gatekit.record.promote import promote_ref, promotion_commit

    assert request.promote is not None and request.spec is not None
    if report.result.verdict is not Verdict.PASSED:
        report.messages.append(f"not promoting {request.promote}: the check did not pass")
        return
    if candidate.base is None:
        raise UsageError("nothing to promote from: the candidate has no base commit")
    spec = request.spec
    commit = promotion_commit(
        repo,
        candidate.tree,
        candidate.base,
        rev=spec.rev if spec.source == "rev" else None,
        head=spec.head if spec.source == "merge" else None,
    )
    promote_ref(repo, request.promote, candidate.base, commit)  # TargetMovedError -> exit 4
    report.messages.append(f"promoted {request.promote}: {candidate.base[:12]} -> {commit[:12]}")


def apply_fixes(repo: pygit2.Repository, candidate: Candidate, report: CheckReport) -> None:
    from gatekit.precommit.sequence import fixes_in_sequence
    from gatekit.record.fixes import apply_fixes, combined_fix_tree

    # pre-commit fixers of one file combine in config order, as pre-commit runs them
    fix_trees = fixes_in_sequence(repo, candidate.tree, report.plan, report.result.gates)
    if not fix_trees:
        report.messages.append("no fixes to apply")
        return
    combined = combined_fix_tree(repo, candidate.tree, fix_trees)
    if combined is None:
        report.messages.append("no fixes to apply")
        return
    applied = apply_fixes(repo, candidate.tree, combined, candidate.source)
    report.messages.append(
        f"applied fixes to {len(applied.changed)} file(s): {', '.join(applied.changed)}"
    )
