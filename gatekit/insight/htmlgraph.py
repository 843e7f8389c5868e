"""Inline SVG pictures for the HTML pages: the needs graph and the chain's history chart.

Both carry their meaning in text too (labels, titles, a list beside them), so
neither colour nor the picture alone tells an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gatekit.insight.htmlkit import BADGES, e, kind_of

COLOURS = {
    "good": "#1a7f37",
    "bad": "#b3261e",
    "warn": "#8a5a00",
    "muted": "#5f6368",
    "busy": "#0b57d0",
}
DASH = {"good": "", "bad": "", "warn": "6 3", "muted": "2 3", "busy": "8 2"}


def layers(order: Sequence[str], needs: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Gate -> column: one more than the deepest of its needs."""
    depth: dict[str, int] = {}
    for gid in order:
        depth[gid] = 1 + max((depth[n] for n in needs.get(gid, ()) if n in depth), default=-1)
    return depth


def needs_svg(
    order: Sequence[str], needs: Mapping[str, Sequence[str]], outcomes: Mapping[str, str]
) -> str:
    depth = layers(order, needs)
    col_w, row_h, box_w, box_h = 210, 62, 180, 44
    needed = {n for gid in order for n in needs.get(gid, ())}
    linked = [g for g in order if needs.get(g) or g in needed]
    alone = [g for g in order if g not in linked]  # no needs, nothing needs them: a grid below
    rows: dict[int, int] = {}
    pos: dict[str, tuple[int, int]] = {}
    for gid in linked:
        col = depth[gid]
        pos[gid] = (10 + col * col_w, 10 + rows.get(col, 0) * row_h)
        rows[col] = rows.get(col, 0) + 1
    cols = max(3, max((depth[g] for g in linked), default=0) + 1)
    top = 10 + max(rows.values(), default=0) * row_h
    for i, gid in enumerate(alone):
        pos[gid] = (10 + (i % cols) * col_w, top + (i // cols) * row_h)
    width = 10 + min(cols, max(len(alone), max((depth[g] for g in linked), default=-1) + 1)) * col_w
    height = top + (-(-len(alone) // cols)) * row_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="needs-title">',
        '<title id="needs-title">needs graph: an arrow goes from a gate to the gates that need it</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/>'
        "</marker></defs>",
    ]
    for gid in order:
        x2, y2 = pos[gid]
        for need in needs.get(gid, ()):
            if need in pos:
                x1, y1 = pos[need]
                parts.append(
                    f'<line x1="{x1 + box_w}" y1="{y1 + box_h // 2}" x2="{x2}" y2="{y2 + box_h // 2}" '
                    'stroke="#57606a" stroke-width="1.5" marker-end="url(#arrow)"/>'
                )
    for gid in order:
        x, y = pos[gid]
        outcome = outcomes.get(gid, "skipped")
        kind = kind_of(outcome)
        symbol = BADGES.get(outcome, ("?", ""))[0]
        stroke = "3.5" if kind == "bad" else "1.5"
        dash = f' stroke-dasharray="{DASH[kind]}"' if DASH[kind] else ""
        label = gid if len(gid) <= 22 else gid[:21] + "…"
        parts.append(
            f'<g class="node" data-gate="{e(gid)}" data-outcome="{e(outcome)}"><title>{e(gid)}: {e(outcome)}</title>'
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" fill="#fff" '
            f'stroke="{COLOURS[kind]}" stroke-width="{stroke}"{dash}/>'
            f'<text x="{x + 8}" y="{y + 18}" font-size="14" font-weight="600" fill="#1f2328">{e(label)}</text>'
            f'<text x="{x + 8}" y="{y + 36}" font-size="12" fill="{COLOURS[kind]}">{symbol} {e(outcome.replace("_", " "))}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def history_svg(points: Sequence[tuple[str, float, str]]) -> str:
    """One bar per run (oldest left), height = duration; failed runs drawn below the axis too."""
    if not points:
        return ""
    n = len(points)
    width, height, axis = max(n * 4, 200), 100, 80
    top = max(p[1] for p in points) or 1.0
    bar = width / n
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="none" role="img" aria-labelledby="hist-title">',
        '<title id="hist-title">wall time of each run, oldest first; a run that did not pass also '
        "has a mark below the line</title>",
        f'<line x1="0" y1="{axis}" x2="{width}" y2="{axis}" stroke="#57606a" stroke-width="0.5"/>',
    ]
    for i, (verdict, duration, label) in enumerate(points):
        kind = kind_of(verdict)
        h = max(1.0, duration / top * (axis - 4))
        x = i * bar
        parts.append(
            f'<rect x="{x:.2f}" y="{axis - h:.2f}" width="{max(bar * 0.8, 0.5):.2f}" height="{h:.2f}" '
            f'fill="{COLOURS[kind]}"><title>{e(label)}</title></rect>'
        )
        if kind != "good":
            parts.append(
                f'<rect x="{x:.2f}" y="{axis + 4}" width="{max(bar * 0.8, 0.5):.2f}" height="12" '
                f'fill="{COLOURS[kind]}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)
