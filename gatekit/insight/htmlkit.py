"""The shell every gatekit page shares: styles inline, a strict Content-Security-Policy,
outcome badges that carry a word and a symbol (never colour alone)."""

from __future__ import annotations

import base64
import hashlib
from html import escape

# Outcome -> (symbol, CSS class). The word itself is always printed beside the symbol.
BADGES = {
    "passed": ("✓", "good"),
    "cached": ("↺", "good"),
    "approved": ("✓", "good"),
    "failed": ("✗", "bad"),
    "error": ("!", "bad"),
    "timed_out": ("◷", "bad"),
    "crashed": ("‼", "bad"),
    "stopped": ("■", "warn"),
    "manual_pending": ("◇", "warn"),
    "manual_required": ("◇", "warn"),
    "interrupted": ("■", "warn"),
    "skipped": ("\u2013", "muted"),
    "running": ("▶", "busy"),
}

CSS = """
:root { --good:#1a7f37; --bad:#b3261e; --warn:#8a5a00; --muted:#5f6368; --busy:#0b57d0;
  --line:#d0d7de; --bg:#ffffff; --fg:#1f2328; --soft:#f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); margin: 0 auto; padding: 1rem; max-width: 72rem;
  overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; margin: .2rem 0 .8rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem;
  border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
code, pre { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
pre { background: var(--soft); border: 1px solid var(--line); padding: .6rem; overflow-x: auto;
  white-space: pre-wrap; word-break: break-word; max-height: 28rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td[data-label="gate"], td[data-label="outcome"] { white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .8rem; border: 1.5px solid;
  font-weight: 600; white-space: nowrap; }
.badge.good { color: var(--good); } .badge.bad { color: var(--bad); border-style: double;
  border-width: 3px; } .badge.warn { color: var(--warn); border-style: dashed; }
.badge.muted { color: var(--muted); border-style: dotted; } .badge.busy { color: var(--busy); }
.verdict { font-size: 1.3rem; padding: .1rem .8rem; }
.track { position: relative; height: 1.3rem; background: var(--soft); border: 1px solid var(--line);
  min-width: 8rem; }
.bar { position: absolute; top: 2px; bottom: 2px; min-width: 3px; background: var(--good); }
.bar.bad { background: repeating-linear-gradient(45deg, var(--bad) 0 6px, #e8a39e 6px 12px); }
.bar.warn { background: repeating-linear-gradient(90deg, var(--warn) 0 4px, #f0d9a8 4px 8px); }
.bar.muted { background: var(--line); } .bar.busy { background: var(--busy); }
.bar.good.cached { background: repeating-linear-gradient(0deg, var(--good) 0 3px, #a6d8b4 3px 6px); }
.note { color: var(--muted); font-size: .9rem; }
.graph { overflow-x: auto; border: 1px solid var(--line); background: var(--soft); }
.graph svg { display: block; max-width: 100%; height: auto; }
.gate-card { border: 1px solid var(--line); border-left: 6px double var(--bad); padding: .5rem .8rem;
  margin: .8rem 0; }
.quarantine { border-left-style: dashed; border-left-color: var(--warn); }
.graph svg.chart { width: 100%; height: 7rem; max-width: none; }
.kpi-fail { font-weight: 600; }
@media (max-width: 40rem) {
  body { padding: .5rem; font-size: 14px; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack thead { display: none; }
  table.stack tr { border: 1px solid var(--line); margin-bottom: .5rem; }
  table.stack td { border: none; padding: .15rem .5rem; white-space: normal; }
  table.stack td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
  dl.facts { grid-template-columns: 1fr; } dl.facts dd { margin-bottom: .3rem; }
}
"""


def e(value: object) -> str:
    return escape(str(value), quote=True)


def badge(outcome: str, extra: str = "", cls: str = "") -> str:
    symbol, kind = BADGES.get(outcome, ("?", "muted"))
    word = outcome.replace("_", " ")
    return (
        f'<span class="badge {kind} {cls}" data-outcome="{e(outcome)}">'
        f'<span aria-hidden="true">{symbol}</span> {e(word)}{e(extra)}</span>'
    )


def kind_of(outcome: str) -> str:
    return BADGES.get(outcome, ("?", "muted"))[1]


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(value, 60)
    return f"{int(minutes)} min {secs:04.1f} s"


def script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def page(
    title: str, body: str, *, script: str = "", connect: bool = False, refresh: int = 0
) -> str:
    """A whole HTML document. Without ``script`` the page runs no JavaScript at all."""
    csp = [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        f"script-src {script_hash(script)}" if script else "script-src 'none'",
        "connect-src 'self'" if connect else "connect-src 'none'",
    ]
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{"; ".join(csp)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{e(title)}</title>",
        f"<style>{CSS}</style>",
    ]
    if refresh:
        head.append(f'<noscript><meta http-equiv="refresh" content="{refresh}"></noscript>')
    head.append("</head>")
    tail = f"<script>{script}</script>" if script else ""
    return "\n".join([*head, f"<body>\n{body}\n{tail}\n</body>", "</html>"]) + "\n"
