"""The baseline file: stable bytes, sorted entries, every problem named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxengine.compare import (
    Baseline,
    MetricInfo,
    Point,
    load_baseline,
    render_baseline,
    save_baseline,
)
from cxengine.compare.baseline_file import BaselineFileError

POINTS = [
    Point("nps", "", {"touchpoint": "website"}, 41.123456789012345, 1146,
          {"n": 1146, "promoters": 600, "detractors": 129}),
    Point("csat", "2025-01-01", {}, 71.2, 300, {"n": 300, "positive": 213.0}),
    Point("nps", "", {}, 17.1, 3980, {"n": 3980, "promoters": 1500, "detractors": 819}),
]  # fmt: skip
METRICS = {"nps": MetricInfo("nps", "points", "month"), "csat": MetricInfo("share", "%", "month")}


def test_round_trip_keeps_counts_and_sorts(tmp_path: Path) -> None:
    path = save_baseline(Baseline("x", POINTS, METRICS, "abc"), tmp_path / "b.json")
    back = load_baseline(path)
    assert [p.key for p in back.points] == sorted(p.key for p in POINTS)
    nps = back.get("nps", "", '{"touchpoint": "website"}')
    assert nps is not None and nps.counts == {"n": 1146, "promoters": 600, "detractors": 129}
    assert back.run_id == "abc" and back.metrics["nps"] == METRICS["nps"]
    assert back.get("csat", "2025-01-01", "{}").counts == {"n": 300, "positive": 213}  # type: ignore[union-attr]


def test_same_values_give_the_same_bytes_in_any_order() -> None:
    a = render_baseline(Baseline("x", POINTS, METRICS, "abc"))
    b = render_baseline(
        Baseline("y", list(reversed(POINTS)), dict(reversed(METRICS.items())), "abc")
    )
    assert a == b
    lines = a.splitlines()
    assert lines[-4] == (
        '    {"metric": "nps", "period": "", "slice": {"touchpoint": "website"}, "value": '
        '41.123456789, "n": 1146, "counts": {"detractors": 129, "n": 1146, "promoters": 600}},'
    )
    assert lines[-2:] == ["  ]", "}"]


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(
        '{\n  "format": "cxengine-baseline",\n  "version": 1,\n  "values": [\n'
        '    {"metric": "nps", "period": "", "slice": {}, "value": "high", "n": 5, "counts": {}},\n'
        '    {"metric": "nps", "period": "", "slice": {}, "value": 1, "n": -1, "counts": {}}\n'
        "  ]\n}\n"
    )
    with pytest.raises(BaselineFileError) as err:
        load_baseline(path)
    assert str(err.value).splitlines() == [
        f"{path}:5: values[0].value: expected a number or null, got 'high'",
        f"{path}:6: values[1].n: expected a non-negative integer, got -1",
    ]
    path.write_text("{ not json")
    with pytest.raises(BaselineFileError, match=r"b\.json:1: not valid JSON"):
        load_baseline(path)
