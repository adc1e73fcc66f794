"""`json`: the machine-readable run document (`cxengine run --json`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cxengine import hookimpl


class JsonReporter:
    """`{"run_id": …, "values": [{"metric", "period", "slice", "value", "n", "ci_low", …}]}`."""

    name = "json"
    description = "JSON document with the run id, dataset row counts and every value."

    def render(self, result: Any, *, color: bool = False) -> str:
        return json.dumps(result.to_json(), indent=2, ensure_ascii=False, default=str) + "\n"


@hookimpl
def register_reporters(register: Callable[..., None]) -> None:
    register(JsonReporter())
