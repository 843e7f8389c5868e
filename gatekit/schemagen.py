"""Generate the JSON Schemas in schemas/ from the models.

python -m gatekit.schemagen          # rewrite schemas/*.json
python -m gatekit.schemagen --check  # exit 1 when a committed file drifted
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_URL = "https://gatekit.dev/schemas/"


def _schema(model: type[BaseModel], name: str, title: str, mode: str) -> dict[str, Any]:
    body = model.model_json_schema(mode=mode)  # type: ignore[arg-type]
    return {"$schema": DIALECT, "$id": BASE_URL + name, **body, "title": title}


def schemas() -> dict[str, dict[str, Any]]:
    from gatekit.config.models import ValidationConfig
    from gatekit.schemamodels.plan import GatePlan
    from gatekit.schemamodels.results import RunResult

    return {
        "validation.schema.json": _schema(
            ValidationConfig, "validation.schema.json", "gatekit validation.yaml", "validation"
        ),
        "plan.schema.json": _schema(
            GatePlan, "plan.schema.json", "gatekit gate plan", "serialization"
        ),
        "result.schema.json": _schema(
            RunResult, "result.schema.json", "gatekit run result", "serialization"
        ),
        **_operator_schemas(),
    }


def _operator_schemas() -> dict[str, dict[str, Any]]:
    from gatekit.operator import models

    named: dict[str, tuple[type[BaseModel], str]] = {
        "status.schema.json": (models.GateStatus, "gatekit gate status (status/GATE.json)"),
        "event.schema.json": (models.Event, "gatekit run event (a line of events.jsonl)"),
        "run.schema.json": (models.RunFile, "gatekit run status (run.json)"),
        "explain.schema.json": (models.Explain, "gatekit explain --json"),
    }
    return {
        name: _schema(model, name, title, "serialization") for name, (model, title) in named.items()
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    out = Path(__file__).resolve().parent.parent / "schemas"
    check = "--check" in argv
    drifted = []
    for name, schema in schemas().items():
        path = out / name
        text = render(schema)
        if check:
            if not path.is_file() or path.read_text() != text:
                drifted.append(name)
        else:
            path.write_text(text)
    if drifted:
        print("schemas drifted from the models: " + ", ".join(drifted), file=sys.stderr)
        print("regenerate with: python -m gatekit.schemagen", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
