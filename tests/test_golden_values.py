"""The standard specs give the same values on the demo project, to the last digit.

A refactor of the engine (contracts, plans, sessions) must not change a single value.
This test runs every standard spec on the `cxengine init` project and compares the full
text of its values (every field of every value, floats in `repr`) and, for every spec,
the gate's significance test between its first two periods, with a file checked in.

When the demo generator or a kind changes on purpose, regenerate the file and review
its diff:

    CXENGINE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_values.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from cxengine.compare.significance import run_test
from cxengine.config import load_config
from cxengine.plugins import get_registry
from cxengine.runner import RunResult, run_project
from cxengine.scaffold import init_project

GOLDEN = Path(__file__).parent / "golden" / "standard_values.json"
UPDATE = os.environ.get("CXENGINE_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult]:
    target = tmp_path_factory.mktemp("golden")
    init_project(target, rows=2000)
    return target, run_project(load_config(target / "cxengine.yaml"), store=False)


def _value(v: Any) -> dict[str, Any]:
    return {
        "metric": v.metric,
        "grain": v.grain,
        "period": v.period.isoformat() if v.period else None,
        "slice": v.slice_key,
        "value": repr(v.value),
        "n": v.n,
        "ci": [repr(v.ci_low), repr(v.ci_high)],
        "low_sample": v.low_sample,
        "rows": v.rows,
        "excluded": v.excluded,
        "counts": {k: repr(c) for k, c in sorted(v.counts.items())},
        "note": v.note,
    }


def _tests(run: RunResult) -> dict[str, Any]:
    """The gate's test of each spec's overall value: its first period against its second."""
    registry = get_registry()
    out: dict[str, Any] = {}
    for loaded in sorted(run.specs, key=lambda s: s.name):
        overall = [v for v in run.values if v.metric == loaded.name and v.slice_key == "{}"]
        periods = sorted((v for v in overall if v.period is not None), key=lambda v: v.period)
        if len(periods) < 2:
            continue
        kind = registry.aggregation(loaded.spec.kind)
        for alternative in ("two-sided", "smaller"):
            res = run_test(kind, loaded.spec, periods[0].counts, periods[1].counts, alternative)
            out[f"{loaded.name} {alternative}"] = {k: repr(x) for k, x in sorted(vars(res).items())}
    return out


def _inputs(project: Path) -> dict[str, str]:
    """Hashes of the demo's data files: a changed generator is told apart from a changed engine."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16]
        for p in sorted((project / "data").glob("*"))
    }


def _text(doc: dict[str, Any]) -> str:
    """JSON with one value per line, so a diff names the values that moved."""
    head = json.dumps({"inputs": doc["inputs"], "tests": doc["tests"]}, indent=1, sort_keys=True)
    lines = ",\n".join(json.dumps(v, sort_keys=True, ensure_ascii=False) for v in doc["values"])
    return head[:-2] + ',\n "values": [\n' + lines + "\n ]\n}\n"


def test_standard_values_are_unchanged(demo: tuple[Path, RunResult]) -> None:
    project, run = demo
    got = {
        "inputs": _inputs(project),
        "values": [_value(v) for v in run.values],
        "tests": _tests(run),
    }
    text = _text(got)
    if UPDATE:
        GOLDEN.write_text(text, encoding="utf-8")
        pytest.skip("golden values written; review and commit tests/golden/standard_values.json")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert got["inputs"] == want["inputs"], (
        "the demo data changed (cxengine/scaffold): regenerate the golden values with "
        "CXENGINE_UPDATE_GOLDEN=1 and check that only the data explains the diff"
    )
    assert len(got["values"]) == len(want["values"])
    for mine, theirs in zip(got["values"], want["values"], strict=True):
        assert mine == theirs
    assert got["tests"] == want["tests"]
    assert text == GOLDEN.read_text(encoding="utf-8")
