"""The live pages of ``gatekit serve``: the runs index and a run in progress.

Both are whole pages that read well without JavaScript (a ``noscript`` refresh
reloads them); with it, a small inline script polls the JSON beside them and
rewrites the table in place, using text nodes only.
"""

from __future__ import annotations

from typing import Any

from gatekit.insight.htmlkit import badge, e, page

REFRESH = 2

_RUN_SCRIPT = """
(function () {
  var url = document.body.getAttribute('data-state');
  var symbols = {passed:'\\u2713', cached:'\\u21ba', approved:'\\u2713', failed:'\\u2717', error:'!',
    timed_out:'\\u25f7', crashed:'\\u203c', stopped:'\\u25a0', manual_pending:'\\u25c7',
    skipped:'\\u2013'};
  var kinds = {passed:'good', cached:'good', approved:'good', failed:'bad', error:'bad',
    timed_out:'bad', crashed:'bad', stopped:'warn', manual_pending:'warn', skipped:'muted'};
  function badge(phase) {
    var s = document.createElement('span');
    s.className = 'badge ' + (kinds[phase] || 'busy');
    s.setAttribute('data-outcome', phase);
    var sym = document.createElement('span');
    sym.setAttribute('aria-hidden', 'true');
    sym.textContent = symbols[phase] || '\\u25b6';
    s.appendChild(sym);
    s.appendChild(document.createTextNode(' ' + phase.replace(/_/g, ' ')));
    return s;
  }
  function cell(row, label, child) {
    var td = document.createElement('td');
    td.setAttribute('data-label', label);
    if (typeof child === 'string') { td.textContent = child; } else { td.appendChild(child); }
    row.appendChild(td);
  }
  function draw(st) {
    document.getElementById('run-state').textContent = st.state;
    document.getElementById('run-state').setAttribute('data-state', st.state);
    var body = document.getElementById('gates');
    var rows = document.createDocumentFragment();
    st.gates.forEach(function (g) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-gate', g.gate);
      tr.setAttribute('data-phase', g.phase);
      var name = document.createElement('code');
      name.textContent = g.gate;
      cell(tr, 'gate', name);
      cell(tr, 'phase', badge(g.phase));
      cell(tr, 'attempt', g.attempt ? String(g.attempt) : '-');
      cell(tr, 'heartbeat', g.heartbeat_age === null ? '-' : g.heartbeat_age + ' s ago');
      var pre = document.createElement('pre');
      pre.textContent = g.last_lines.join('\\n') || g.reason;
      cell(tr, 'last lines', pre);
      rows.appendChild(tr);
    });
    body.replaceChildren(rows);
    if (st.state === 'finished') { window.location.reload(); return; }
    setTimeout(poll, 1000);
  }
  function poll() {
    fetch(url, {cache: 'no-store'}).then(function (r) { return r.json(); })
      .then(draw, function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
})();
"""


def _gate_rows(state: dict[str, Any]) -> str:
    out = []
    for g in state["gates"]:
        lines = "\n".join(g["last_lines"]) or g["reason"]
        beat = "-" if g["heartbeat_age"] is None else f"{g['heartbeat_age']} s ago"
        out.append(
            f'<tr data-gate="{e(g["gate"])}" data-phase="{e(g["phase"])}">'
            f'<td data-label="gate"><code>{e(g["gate"])}</code></td>'
            f'<td data-label="phase">{badge(g["phase"])}</td>'
            f'<td data-label="attempt">{g["attempt"] or "-"}</td>'
            f'<td data-label="heartbeat">{e(beat)}</td>'
            f'<td data-label="last lines"><pre>{e(lines)}</pre></td></tr>'
        )
    return "".join(out)


def live_run_page(state: dict[str, Any]) -> str:
    run_id = state["run_id"]
    body = (
        '<p><a href="/">all runs</a></p>'
        f"<h1>gatekit run <code>{e(run_id)}</code></h1>"
        f'<p>State: <strong id="run-state" data-state="{e(state["state"])}">{e(state["state"])}</strong>. '
        "This page follows the run directory (read-only) and shows the report when the run ends.</p>"
        '<table class="stack live"><thead><tr><th>gate</th><th>phase</th><th>attempt</th>'
        f'<th>heartbeat</th><th>last lines</th></tr></thead><tbody id="gates">{_gate_rows(state)}</tbody></table>'
    )
    html = page(
        f"gatekit: run {run_id} ({state['state']})",
        body,
        script=_RUN_SCRIPT,
        connect=True,
        refresh=REFRESH,
    )
    return html.replace("<body>", f'<body data-state="/api/runs/{e(run_id)}">', 1)


def index_page(runs: list[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        outcome = r["verdict"] or ("running" if r["state"] == "running" else "stopped")
        phases = ", ".join(f"{n} {p.replace('_', ' ')}" for p, n in sorted(r["phases"].items()))
        link = "report" if r["state"] == "finished" else "live view"
        rows.append(
            f'<tr data-run="{e(r["run_id"])}" data-state="{e(r["state"])}">'
            f'<td data-label="run"><a href="/runs/{e(r["run_id"])}"><code>{e(r["run_id"])}</code></a> ({link})</td>'
            f'<td data-label="state">{e(r["state"])}</td>'
            f'<td data-label="verdict">{badge(outcome)}</td>'
            f'<td data-label="gates">{e(phases or "-")}</td></tr>'
        )
    body = (
        "<h1>gatekit runs</h1>"
        '<p class="note">The newest runs of this repository, from its run directories. '
        "Read-only: nothing is done from this page. It reloads every few seconds.</p>"
        '<table class="stack runs"><thead><tr><th>run</th><th>state</th><th>verdict</th><th>gates</th>'
        f"</tr></thead><tbody>{''.join(rows) or '<tr><td>no runs yet</td></tr>'}</tbody></table>"
    )
    # No script: the index refreshes itself the plain way.
    html = page("gatekit runs", body)
    return html.replace(
        "</title>", f'</title>\n<meta http-equiv="refresh" content="{REFRESH * 2}">', 1
    )
