"""The Prometheus text exposition format (version 0.0.4) of the recorded runs.

For node_exporter's textfile collector: one file, rewritten atomically. Every
figure comes from the chains' records, so two machines with the same notes
write the same file. Counters count the runs recorded on the chain (a pruned
chain counts fewer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from gatekit.insight.history import Run
from gatekit.insight.stats import gate_stats
from gatekit.results import Outcome

_HELP = {
    "gatekit_gate_last_duration_seconds": (
        "gauge",
        "duration of the gate's last run that executed it",
    ),
    "gatekit_gate_outcomes_total": ("counter", "recorded runs of the gate, by outcome"),
    "gatekit_gate_retries_total": ("counter", "attempts beyond the first, over recorded runs"),
    "gatekit_gate_cache_hits_total": ("counter", "runs where the gate was cached"),
    "gatekit_gate_flaky_total": ("counter", "flaky events (pass on retry with the same tree)"),
    "gatekit_gate_quarantined": ("gauge", "1 when the gate is quarantined"),
    "gatekit_runs_total": ("counter", "recorded runs of the chain, by verdict"),
    "gatekit_run_last_duration_seconds": ("gauge", "wall time of the chain's last run"),
    "gatekit_run_last_verdict": ("gauge", "1 for the verdict of the chain's last run, else 0"),
    "gatekit_run_last_timestamp_seconds": ("gauge", "start of the chain's last run (epoch)"),
}
VERDICTS = ("passed", "failed", "manual_required", "interrupted")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _num(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def render(chains: Mapping[str, Sequence[Run]], quarantined: Iterable[str] = ()) -> str:
    samples: dict[str, list[str]] = {name: [] for name in _HELP}
    held = set(quarantined)

    def add(name: str, labels: Mapping[str, str], value: float) -> None:
        samples[name].append(f"{name}{_labels(labels)} {_num(value)}")

    for chain, runs in sorted(chains.items()):
        if not runs:
            continue
        for gid, s in gate_stats(runs).items():
            at = {"chain": chain, "gate": gid}
            if s.last_duration is not None:
                add("gatekit_gate_last_duration_seconds", at, s.last_duration)
            counts: dict[str, int] = {}
            for run in runs:
                for g in run.result.gates:
                    if g.id == gid:
                        counts[str(g.outcome)] = counts.get(str(g.outcome), 0) + 1
            for outcome in Outcome:
                if outcome.value in counts:
                    add(
                        "gatekit_gate_outcomes_total",
                        {**at, "outcome": outcome.value},
                        counts[outcome.value],
                    )
            add("gatekit_gate_retries_total", at, s.retries)
            add("gatekit_gate_cache_hits_total", at, s.cached)
            add("gatekit_gate_flaky_total", at, s.flaky)
            add("gatekit_gate_quarantined", at, 1 if gid in held else 0)
        verdicts: dict[str, int] = {}
        for run in runs:
            verdicts[str(run.result.verdict)] = verdicts.get(str(run.result.verdict), 0) + 1
        for verdict in VERDICTS:
            add(
                "gatekit_runs_total", {"chain": chain, "verdict": verdict}, verdicts.get(verdict, 0)
            )
        last = runs[-1]
        add("gatekit_run_last_duration_seconds", {"chain": chain}, last.result.duration)
        for verdict in VERDICTS:
            value = 1 if str(last.result.verdict) == verdict else 0
            add("gatekit_run_last_verdict", {"chain": chain, "verdict": verdict}, value)
        add("gatekit_run_last_timestamp_seconds", {"chain": chain}, last.time)
    out: list[str] = []
    for name, (kind, text) in _HELP.items():
        out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *samples[name]]
    return "\n".join(out) + "\n"
