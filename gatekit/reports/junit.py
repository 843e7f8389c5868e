"""JUnit: reading a gate's JUnit files after it runs, and writing one merged file for a run.

Reading (:func:`collect_junit`): a gate's ``junit:`` globs, relative to the
shadow root. No globs -> ``None``. Globs declared but matching no file ->
:class:`JUnitNotProduced` (the runner records the gate as failed with the
message "junit declared but not produced: ..."). A file that is not JUnit XML
-> :class:`JUnitUnreadable` (also a failure). Both are :class:`JUnitError`.
With ``keep_dir`` the matched files are copied there (the runner passes
:func:`junit_dir` of the run) so that :func:`write_junit_xml` can merge every
case later.

Writing (:func:`write_junit_xml`): each gate is a testsuite named after it:
its own cases when its JUnit files were kept, else one testcase for the gate
(failure, error or skipped from its outcome). A gate that did not pass while
all its own cases passed (a KPI or an exit code failed it) also gets the
gate testcase, so the merged file never shows such a gate as green.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from gatekit.builtins._files import check_relative
from gatekit.errors import GatekitError, UnsafePathError
from gatekit.reports.masking import mask_secrets
from gatekit.results import GateResult, JUnitCase, JUnitSummary, Outcome

MAX_MESSAGE = 1000
MAX_FAILING = 200

_ERROR_OUTCOMES = {Outcome.ERROR, Outcome.TIMED_OUT, Outcome.CRASHED, Outcome.STOPPED}
_SKIP_OUTCOMES = {Outcome.SKIPPED, Outcome.MANUAL_PENDING}
_GOOD = {Outcome.PASSED, Outcome.CACHED, Outcome.APPROVED}


class JUnitError(GatekitError):
    """A gate's declared JUnit results are missing or unreadable: the gate fails."""


class JUnitNotProduced(JUnitError):
    pass


class JUnitUnreadable(JUnitError):
    pass


def junit_dir(run_dir: Path, gate_id: str) -> Path:
    """Where a gate's JUnit files are kept in the run directory."""
    return run_dir / "reports" / "junit" / gate_id


def find_junit_files(root: Path, globs: Sequence[str]) -> list[Path]:
    real_root = root.resolve()
    found: set[Path] = set()
    for pattern in globs:
        try:
            check_relative(pattern)
        except UnsafePathError:
            raise JUnitUnreadable(f"junit glob {pattern!r} points outside the repository") from None
        for path in root.glob(pattern):
            real = path.resolve()
            if real.is_file() and real.is_relative_to(real_root):
                found.add(path)
    return sorted(found)


def _suites(xml: Any) -> Iterator[Any]:
    from junitparser import TestSuite

    for suite in xml:
        yield suite
        stack = list(suite.iterchildren(TestSuite))
        while stack:
            inner = stack.pop()
            yield inner
            stack.extend(inner.iterchildren(TestSuite))


def _parse(path: Path, root: Path) -> Any:
    from junitparser import JUnitXml, JUnitXmlError

    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    try:
        return JUnitXml.fromfile(str(path))
    except (ET.ParseError, JUnitXmlError, OSError, ValueError) as exc:
        raise JUnitUnreadable(f"junit file {rel} is not JUnit XML: {exc}") from None


def _message(result: Any, secrets: Iterable[str]) -> str:
    text = result.message or result.text or type(result).__name__.lower()
    first = mask_secrets(str(text).strip(), secrets).splitlines()
    msg = first[0] if first else ""
    return msg[:MAX_MESSAGE]


def collect_junit(
    root: Path,
    globs: Sequence[str],
    *,
    keep_dir: Path | None = None,
    secrets: Iterable[str] = (),
) -> JUnitSummary | None:
    """Totals and failing cases of the JUnit files matching ``globs`` under ``root``."""
    from junitparser import Error, Failure, Skipped

    if not globs:
        return None
    files = find_junit_files(root, globs)
    if not files:
        raise JUnitNotProduced(
            "junit declared but not produced: no file matches " + ", ".join(globs),
            tip="check the gate writes its JUnit report under the repository root",
        )
    secrets = tuple(secrets)
    tests = failures = errors = skipped = 0
    failing: list[JUnitCase] = []
    for index, path in enumerate(files):
        xml = _parse(path, root)
        for suite in _suites(xml):
            for case in suite:
                tests += 1
                results = case.result
                bad = next((r for r in results if isinstance(r, Failure | Error)), None)
                if bad is not None:
                    kind: Literal["failure", "error"] = (
                        "error" if isinstance(bad, Error) else "failure"
                    )
                    if kind == "error":
                        errors += 1
                    else:
                        failures += 1
                    if len(failing) < MAX_FAILING:
                        failing.append(
                            JUnitCase(
                                suite=suite.name or "",
                                classname=case.classname or "",
                                name=case.name or "",
                                result=kind,
                                message=_message(bad, secrets),
                            )
                        )
                elif any(isinstance(r, Skipped) for r in results):
                    skipped += 1
        if keep_dir is not None:
            keep_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, keep_dir / f"{index:03d}-{path.name}")
    return JUnitSummary(
        tests=tests, failures=failures, errors=errors, skipped=skipped, failing=tuple(failing)
    )


def _gate_case(result: GateResult) -> Any:
    from junitparser import Error, Failure, Skipped, TestCase

    case = TestCase(name=result.id, classname="gatekit", time=round(result.duration, 3))
    reason = result.reason or result.outcome.value
    if result.outcome in _ERROR_OUTCOMES:
        case.result = [Error(message=reason, type_=result.outcome.value)]
    elif result.outcome in _SKIP_OUTCOMES:
        case.result = [Skipped(message=reason)]
    elif result.outcome not in _GOOD:
        case.result = [Failure(message=reason, type_=result.outcome.value)]
    return case


def write_junit_xml(path: Path, results: Sequence[GateResult], run_dir: Path) -> None:
    """One JUnit file for the whole run: a testsuite per gate."""
    from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite

    merged = JUnitXml(name="gatekit")
    for result in results:
        suite = TestSuite(name=result.id)
        own_failed = False
        kept = sorted(junit_dir(run_dir, result.id).glob("*.xml")) if result.junit else []
        for file in kept:
            try:
                xml = _parse(file, run_dir)
            except JUnitUnreadable:
                continue
            for inner in _suites(xml):
                for case in inner:
                    if any(isinstance(r, Failure | Error) for r in case.result):
                        own_failed = True
                    suite.add_testcase(case)
        if not kept and result.junit is not None:
            # Files not kept: the recorded failing cases still appear, one testcase each.
            for failed in result.junit.failing:
                case = TestCase(name=failed.name, classname=failed.classname or failed.suite)
                kind = Error if failed.result == "error" else Failure
                case.result = [kind(message=failed.message)]
                suite.add_testcase(case)
                own_failed = True
        if len(suite) == 0 or (result.outcome not in _GOOD and not own_failed):
            suite.add_testcase(_gate_case(result))
        suite.time = round(result.duration, 3)
        merged.add_testsuite(suite)
    merged.update_statistics()  # type: ignore[no-untyped-call]
    path.parent.mkdir(parents=True, exist_ok=True)
    merged.write(str(path))
