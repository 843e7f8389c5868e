"""The HTML run report: one self-contained file (styles inline, no script, no fetch).

Sections: the verdict and its facts, a timeline of gates (Gantt-style), the
needs graph, failing gates with their runbook's next action and log excerpt,
JUnit failures, KPIs against thresholds, cache hits, quarantine, and the
chain's history. Readable without JavaScript and in a narrow window; an
outcome is always a word and a symbol, colour only repeats it.
"""

from __future__ import annotations

import datetime as dt

from gatekit.insight.htmlgraph import history_svg, needs_svg
from gatekit.insight.htmlkit import badge, e, kind_of, page, seconds
from gatekit.insight.report import GateRow, Report

HISTORY_ROWS = 100
FAILING = frozenset({"failed", "error", "timed_out", "crashed", "stopped"})


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _facts(report: Report) -> str:
    r = report.result
    policies = ", ".join(
        f"{p.name} {p.policy_version or ''}".strip()
        + (f" (effective {p.effective})" if p.effective else "")
        for p in r.policies
    )
    cand = r.candidate
    rows = [
        ("plan id", f"<code>{e(r.plan_id)}</code>"),
        ("policy", e(policies or "none (validation.yaml only)")),
        (
            "candidate",
            f"{e(cand.source)} tree <code>{e(cand.tree)}</code>"
            + (f", base <code>{e(cand.base)}</code>" if cand.base else "")
            if cand
            else "-",
        ),
        (
            "event",
            e(r.context.event) + (f" on branch {e(r.context.branch)}" if r.context.branch else ""),
        ),
        (
            "run",
            f"<code>{e(r.run_id)}</code>, started {e(r.started_at)}, wall time {seconds(r.duration)}",
        ),
        (
            "chain",
            e(r.chain or "-")
            + (f", checkpoint <code>{e(r.checkpoint)}</code>" if r.checkpoint else ""),
        ),
        (
            "gatekit",
            f"{e(r.environment.gatekit)} on Python {e(r.environment.python)}, {e(r.environment.platform)}",
        ),
    ]
    counts: dict[str, int] = {}
    for g in r.gates:
        counts[g.outcome.value] = counts.get(g.outcome.value, 0) + 1
    summary = ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in sorted(counts.items()))
    rows.append(("gates", e(summary or "none")))
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="facts">{body}</dl>'


def _timeline(report: Report) -> str:
    total = max((row.end for row in report.rows), default=0.0) or 1.0
    how = (
        "measured from the run's events"
        if report.timeline_measured
        else "laid out from durations and needs (this machine does not have the run directory)"
    )
    out = [
        '<h2 id="timeline">Timeline</h2>',
        f'<p class="note">Start and length of each gate, {how}; the bar spans {seconds(total)}.</p>',
        '<table class="stack timeline"><thead><tr><th>gate</th><th>outcome</th><th>start</th>'
        "<th>duration</th><th>attempts</th><th>when</th></tr></thead><tbody>",
    ]
    for row in report.rows:
        g = row.result
        kind = kind_of(g.outcome.value)
        left = row.start / total * 100
        width = max((row.end - row.start) / total * 100, 0.3)
        extra = " (flaky)" if g.flaky else ""
        cls = " cached" if g.outcome.value == "cached" else ""
        optional = "" if g.required else ' <span class="note">(does not block)</span>'
        quarantined = ' <span class="note">quarantined</span>' if g.quarantined else ""
        out.append(
            f'<tr data-gate="{e(g.id)}" data-outcome="{e(g.outcome.value)}">'
            f'<td data-label="gate"><code>{e(g.id)}</code>{optional}{quarantined}</td>'
            f'<td data-label="outcome">{badge(g.outcome.value, extra)}</td>'
            f'<td data-label="start">+{seconds(row.start)}</td>'
            f'<td data-label="duration">{seconds(g.duration)}</td>'
            f'<td data-label="attempts">{len(g.attempts) or "-"}</td>'
            f'<td data-label="when"><div class="track" aria-hidden="true">'
            f'<div class="bar {kind}{cls}" style="left:{left:.2f}%;width:{width:.2f}%"></div></div></td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


def _graph(report: Report) -> str:
    out = ['<h2 id="needs">Needs graph</h2>']
    if report.plan is None:
        out.append('<p class="note">The plan of this run is not on this machine: no graph.</p>')
        return "".join(out)
    plan = report.plan
    outcomes = {g.id: g.outcome.value for g in report.result.gates}
    order = list(plan.order)
    needs = {g.id: g.needs for g in plan.gates}
    out.append(f'<div class="graph">{needs_svg(order, needs, outcomes)}</div>')
    items = []
    for g in plan.gates:
        what = f"needs {', '.join(g.needs)}" if g.needs else "needs nothing"
        items.append(
            f"<li><code>{e(g.id)}</code> {badge(outcomes.get(g.id, 'skipped'))}: {e(what)}; "
            f"planned {e(g.decision.value)}: {e(g.reason)}</li>"
        )
    out.append(f'<ul class="needs-list">{"".join(items)}</ul>')
    return "".join(out)


def _failing(report: Report) -> str:
    rows = [row for row in report.rows if row.result.outcome.value in FAILING]
    out = ['<h2 id="failing">Failing gates</h2>']
    if not rows:
        out.append('<p class="note">No gate failed.</p>')
    for row in rows:
        out.append(_failing_card(row))
    return "".join(out)


def _failing_card(row: GateRow) -> str:
    g = row.result
    cls = "gate-card quarantine" if g.quarantined else "gate-card"
    parts = [
        f'<section class="{cls}" data-gate="{e(g.id)}"><h3><code>{e(g.id)}</code> {badge(g.outcome.value)}</h3>',
        f"<p><strong>Reason:</strong> {e(g.reason or '-')}</p>",
    ]
    attempts = ", ".join(
        f"#{a.number} {a.outcome.value}"
        + (f" exit {a.exit_code}" if a.exit_code is not None else "")
        + (f" ({a.failure_class})" if a.failure_class else "")
        for a in g.attempts
    )
    if attempts:
        parts.append(f"<p><strong>Attempts:</strong> {e(attempts)}</p>")
    for note in g.notes:
        parts.append(f'<p class="note">{e(note)}</p>')
    if row.next_action:
        parts.append(f"<p><strong>Next action:</strong> {e(row.next_action)}</p>")
    if row.excerpt:
        parts.append(
            f"<details open><summary>Last {len(row.excerpt)} lines of <code>{e(g.log or '')}</code>"
            f"</summary><pre>{e(chr(10).join(row.excerpt))}</pre></details>"
        )
    elif g.log:
        parts.append(f'<p class="note">Log <code>{e(g.log)}</code> is not on this machine.</p>')
    parts.append("</section>")
    return "".join(parts)


def _junit(report: Report) -> str:
    cases = [(g.id, c) for g in report.result.gates if g.junit for c in g.junit.failing]
    suites = [g for g in report.result.gates if g.junit]
    if not suites:
        return ""
    out = [
        '<h2 id="junit">JUnit</h2><table class="stack"><thead><tr><th>gate</th><th>tests</th>'
        "<th>failures</th><th>errors</th><th>skipped</th></tr></thead><tbody>"
    ]
    for g in suites:
        j = g.junit
        assert j is not None
        out.append(
            f'<tr><td data-label="gate"><code>{e(g.id)}</code></td><td data-label="tests">{j.tests}</td>'
            f'<td data-label="failures">{j.failures}</td><td data-label="errors">{j.errors}</td>'
            f'<td data-label="skipped">{j.skipped}</td></tr>'
        )
    out.append("</tbody></table>")
    if cases:
        out.append(
            '<table class="stack junit-failures"><thead><tr><th>gate</th><th>test</th><th>result</th>'
            "<th>message</th></tr></thead><tbody>"
        )
        for gid, c in cases:
            out.append(
                f'<tr><td data-label="gate"><code>{e(gid)}</code></td>'
                f'<td data-label="test"><code>{e(c.classname)}.{e(c.name)}</code></td>'
                f'<td data-label="result">{badge("failed" if c.result == "failure" else "error")}</td>'
                f'<td data-label="message">{e(c.message)}</td></tr>'
            )
        out.append("</tbody></table>")
    return "".join(out)


def _kpi(report: Report) -> str:
    rows = [(g.id, k) for g in report.result.gates for k in g.kpi]
    if not rows:
        return ""
    out = [
        '<h2 id="kpi">KPIs</h2><table class="stack"><thead><tr><th>gate</th><th>metric</th>'
        "<th>value</th><th>threshold</th><th>result</th></tr></thead><tbody>"
    ]
    for gid, k in rows:
        value = "-" if k.value is None else f"{k.value:g}"
        out.append(
            f'<tr class="{"" if k.passed else "kpi-fail"}"><td data-label="gate"><code>{e(gid)}</code></td>'
            f'<td data-label="metric">{e(k.metric)}</td><td data-label="value">{e(value)}</td>'
            f'<td data-label="threshold">{e(k.op)} {k.threshold:g}</td>'
            f'<td data-label="result">{badge("passed" if k.passed else "failed")} {e(k.reason)}</td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


def _cache(report: Report) -> str:
    hits = [g for g in report.result.gates if g.outcome.value == "cached"]
    if not hits:
        return '<h2 id="cache">Cache</h2><p class="note">No gate was served from the cache.</p>'
    out = [
        f'<h2 id="cache">Cache</h2><p>{len(hits)} gate(s) served by a recorded pass of the same inputs:</p><ul>'
    ]
    for g in hits:
        origin = (
            f"checkpoint <code>{e(g.cached_from)}</code>" if g.cached_from else "an earlier pass"
        )
        key = f" (key <code>{e(g.cache_key[:16])}</code>)" if g.cache_key else ""
        out.append(f"<li><code>{e(g.id)}</code> {badge('cached')} from {origin}{key}</li>")
    out.append("</ul>")
    return "".join(out)


def _quarantine(report: Report) -> str:
    in_run = [g for g in report.result.gates if g.quarantined]
    if not in_run and not report.quarantine:
        return ""
    policy = report.plan.quarantine.blocking if report.plan is not None else None
    rule = {
        True: "quarantined gates still block the verdict (quarantine.blocking: true)",
        False: "quarantined gates do not block the verdict (quarantine.blocking: false)",
        None: "the policy of this run is not on this machine",
    }[policy]
    out = [f'<h2 id="quarantine">Quarantine</h2><p>{e(rule)}.</p><ul>']
    names = sorted({*(g.id for g in in_run), *report.quarantine})
    for name in names:
        d = report.quarantine.get(name)
        who = f"by {e(d.by)} at {e(d.at)}: {e(d.why)}" if d else "at the time of this run"
        out.append(f"<li><code>{e(name)}</code> quarantined {who}</li>")
    out.append("</ul>")
    return "".join(out)


def _history(report: Report) -> str:
    runs = report.history
    if len(runs) < 2:
        return ""
    points = [
        (
            str(r.result.verdict),
            r.result.duration,
            f"{_when(r.time)} {r.result.verdict} {r.result.duration:.1f} s",
        )
        for r in runs
    ]
    passed = sum(1 for r in runs if str(r.result.verdict) == "passed")
    out = [
        '<h2 id="history">Chain history</h2>',
        f"<p>{len(runs)} runs, {passed} passed, {len(runs) - passed} did not.</p>",
        f'<div class="graph">{history_svg(points)}</div>',
        '<table class="stack history"><thead><tr><th>started</th><th>checkpoint</th><th>verdict</th>'
        "<th>wall time</th><th>not passed</th></tr></thead><tbody>",
    ]
    for r in list(reversed(runs))[:HISTORY_ROWS]:
        bad = ", ".join(g.id for g in r.result.gates if g.outcome.value in FAILING) or "-"
        out.append(
            f'<tr data-checkpoint="{e(r.checkpoint)}"><td data-label="started">{_when(r.time)}</td>'
            f'<td data-label="checkpoint"><code>{e(r.checkpoint[:12])}</code></td>'
            f'<td data-label="verdict">{badge(str(r.result.verdict))}</td>'
            f'<td data-label="wall time">{seconds(r.result.duration)}</td>'
            f'<td data-label="not passed">{e(bad)}</td></tr>'
        )
    out.append("</tbody></table>")
    if len(runs) > HISTORY_ROWS:
        out.append(
            f'<p class="note">The newest {HISTORY_ROWS} of {len(runs)} runs are listed; the chart shows all.</p>'
        )
    return "".join(out)


def report_body(report: Report) -> str:
    r = report.result
    head = (
        f'<header><h1>gatekit run report <span class="verdict-wrap">{badge(str(r.verdict), cls="verdict")}</span></h1>'
        f'<p id="verdict" data-verdict="{e(r.verdict)}">Verdict: <strong>{e(str(r.verdict).replace("_", " "))}</strong>'
        f" (exit code {r.exit_code})</p></header>"
    )
    sections = [
        head,
        _facts(report),
        _timeline(report),
        _graph(report),
        _failing(report),
        _junit(report),
        _kpi(report),
        _cache(report),
        _quarantine(report),
        _history(report),
    ]
    return "\n".join(s for s in sections if s)


def render_report(report: Report) -> str:
    title = f"gatekit: {report.result.verdict} ({report.result.run_id})"
    return page(title, report_body(report))
