"""``extends``: merge a chain of documents, keeping each value's origin.

Later documents override earlier ones key by key; ``defaults`` merge key by
key; ``gates`` merge by ``id`` (a later gate with a known id overrides that
gate's keys, a new id is appended).
"""

from __future__ import annotations

from typing import Any

from gatekit.config.yamlsource import Positions
from gatekit.lazyclass import dataclass

_PER_FILE_KEYS = {"extends", "policy_version", "effective"}


@dataclass
class Layer:
    """One document of the chain: its data and where its values were written."""

    data: dict[str, Any]
    positions: Positions


def merge_layers(layers: list[Layer]) -> Layer:
    out: dict[str, Any] = {}
    pos = Positions()
    gates: list[dict[str, Any]] = []
    gate_index: dict[str, int] = {}
    for layer in layers:
        inherited = dict(gate_index)  # merge by id only with earlier layers
        for key, value in layer.data.items():
            if key in _PER_FILE_KEYS:
                continue
            if key == "gates" and isinstance(value, list):
                _merge_gates(gates, inherited, gate_index, value, layer.positions, pos)
                pos.values.setdefault(("gates",), layer.positions.values[("gates",)])
                pos.keys.setdefault(("gates",), layer.positions.keys[("gates",)])
            elif key == "defaults" and isinstance(value, dict) and isinstance(out.get(key), dict):
                merged = {**out[key], **value}
                # limits merge per limit: a layer raising one keeps the others
                low, high = out[key].get("limits"), value.get("limits")
                if isinstance(low, dict) and isinstance(high, dict):
                    merged["limits"] = {**low, **high}
                out[key] = merged
                for sub in value:
                    pos.copy_subtree(layer.positions, (key, sub), (key, sub))
            else:
                out[key] = value
                pos.copy_subtree(layer.positions, (key,), (key,))
    if "gates" not in out and any(isinstance(layer.data.get("gates"), list) for layer in layers):
        out["gates"] = gates  # (a 'gates' that is not a list stays, for the model to report)
    last = layers[-1]
    pos.values[()] = last.positions.values.get(()) or next(iter(last.positions.values.values()))
    return Layer(out, pos)


def _merge_gates(
    gates: list[dict[str, Any]],
    inherited: dict[str, int],
    index: dict[str, int],
    incoming: list[Any],
    src: Positions,
    pos: Positions,
) -> None:
    for j, gate in enumerate(incoming):
        gate_id = gate.get("id") if isinstance(gate, dict) else None
        if isinstance(gate_id, str) and gate_id in inherited:
            i = inherited[gate_id]
            gates[i] = {**gates[i], **gate}
            for key in gate:
                pos.copy_subtree(src, ("gates", j, key), ("gates", i, key))
            continue
        i = len(gates)
        gates.append(dict(gate) if isinstance(gate, dict) else gate)
        pos.copy_subtree(src, ("gates", j), ("gates", i))
        if isinstance(gate_id, str):
            index.setdefault(gate_id, i)
