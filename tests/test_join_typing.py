"""Spec-driven typing reaches the sides of a join.

A field inferred as text because of one bad value is read as the number the specs
need, and the bad value becomes a located reject (tests/test_reliability_round3.py,
item 8). The same holds when the spec reads the field through a joined dataset: the
need is traced to the side the field is read from — the `from` side, the `to` side,
a `side.field` name the join qualified, both sides of a key, through joins of joins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cxengine.config import load_config
from cxengine.runner import RunResult, run_project, validate_project
from cxengine.testing import write_project

RESPONSES = (
    "rid,cid,score,at\n1,a,5,2025-01-03\n2,b,five,2025-01-04\n3,a,4,2025-01-05\n4,b,2,2025-01-06\n"
)
CUSTOMERS = "cid,segment,tenure\na,gold,12\nb,silver,many\n"
ORDERS = "rid,amount\n1,10\n2,20\n3,lots\n4,40\n"

MEAN = "name: {name}\nkind: mean\ndataset: {dataset}\nfield: {field}\nmin_n: 1\n"


def _project(root: Path, specs: dict[str, str], datasets: dict[str, Any] | None = None) -> Path:
    plain = {
        "r": {"source": "csv", "path": "r.csv"},
        "c": {"source": "csv", "path": "c.csv"},
        "o": {"source": "csv", "path": "o.csv"},
        "rc": {"join": {"from": "r", "to": "c", "on": "cid"}},
        "rco": {"join": {"from": "rc", "to": "o", "on": "rid"}},
    }
    return write_project(
        root,
        {**plain, **(datasets or {})},
        specs,
        {"r.csv": RESPONSES, "c.csv": CUSTOMERS, "o.csv": ORDERS},
    )


def _run(config: Path) -> RunResult:
    return run_project(load_config(config), store=False)


def _overall(result: RunResult, metric: str) -> tuple[float | None, int]:
    (value,) = [v for v in result.values if v.metric == metric and not v.slice and not v.period]
    return value.value, value.n


def _field_rejects(result: RunResult) -> set[tuple[str, str, str]]:
    return {(r.locator, str(r.field), str(r.value)) for r in result.rejects if r.field}


@pytest.mark.parametrize(
    ("dataset", "field", "mean", "n", "reject"),
    [
        # the `from` side's field: 'five' on line 3 of r.csv
        ("rc", "score", (5 + 4 + 2) / 3, 3, ("r.csv:3", "score", "five")),
        # the `to` side's field: 'many' on line 3 of c.csv (customer b has two responses)
        ("rc", "tenure", 12.0, 2, ("c.csv:3", "tenure", "many")),
        # through a join of joins: o is the `to` side of rco
        ("rco", "amount", (10 + 20 + 40) / 3, 3, ("o.csv:4", "amount", "lots")),
        ("rco", "score", (5 + 4 + 2) / 3, 3, ("r.csv:3", "score", "five")),
    ],
)
def test_a_field_read_through_a_join_is_typed_as_the_spec_needs(
    tmp_path: Path,
    dataset: str,
    field: str,
    mean: float,
    n: int,
    reject: tuple[str, str, str],
) -> None:
    spec = MEAN.format(name="m", dataset=dataset, field=field)
    result = _run(_project(tmp_path, {"m": spec}))
    assert not result.failed, result.failed
    value, count = _overall(result, "m")
    assert (value, count) == (pytest.approx(mean), n)
    assert reject in _field_rejects(result)


def test_a_field_the_join_qualified_is_traced_to_its_side(tmp_path: Path) -> None:
    # Both sides have a `score` (in different case): the join names them r.score and c.Score.
    customers = "cid,Score\na,9\nb,nine\n"
    config = _project(tmp_path, {"m": MEAN.format(name="m", dataset="rc", field="c.Score")})
    (tmp_path / "c.csv").write_text(customers, encoding="utf-8")
    result = _run(config)
    assert not result.failed, result.failed
    assert _overall(result, "m") == (pytest.approx(9.0), 2)  # customer a's two responses
    assert ("c.csv:3", "Score", "nine") in _field_rejects(result)
    # r's own score is not asked for, so it stays as inferred (text) and rejects nothing.
    assert not any(r.field == "score" for r in result.rejects)


def test_declared_side_fields_are_what_they_say(tmp_path: Path) -> None:
    # A side that declares `score: string` is not retyped behind the user's back.
    declared = {
        "r": {
            "source": "csv",
            "path": "r.csv",
            "fields": {"rid": "integer", "cid": "string", "score": "string", "at": "date"},
        }
    }
    spec = MEAN.format(name="m", dataset="rc", field="score")
    config = _project(tmp_path, {"m": spec}, declared)
    _specs, problems = validate_project(load_config(config), with_data=True)
    errors = [str(p) for p in problems if p.severity == "error"]
    assert any("'score' is string, but this needs integer or number" in e for e in errors)


def test_validate_names_the_side_and_the_value_that_broke_inference(tmp_path: Path) -> None:
    config = _project(tmp_path, {"m": MEAN.format(name="m", dataset="rc", field="score")})
    _specs, problems = validate_project(load_config(config), with_data=True)
    text = "\n".join(str(p) for p in problems)
    assert all(p.severity == "warning" for p in problems), text
    assert (
        "m.yaml:4: field: field 'score' of dataset 'r' would be inferred as text "
        "because of 'five' (r.csv:3)" in text
    )
