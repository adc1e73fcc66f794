"""A number text past a double's range is a reject of its field, not an infinity.

`1e400` cast to DOUBLE is infinity in DuckDB; a mean over it failed the whole metric
("sums and n must be finite"). It is now rejected in its field with its line, like a
native infinite value, and the metric is computed from the rest. The same texts on
PostgreSQL and Spark: tests/engines (test_numbers_past_the_range_of_a_double_read_alike).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cxengine.config import load_config
from cxengine.runner import run_project
from cxengine.testing import write_project

ROWS = "id,x\na,1e400\nb,-1e309\nc,1.7976931348623159e308\nd,1e150\ne,2\nf,4\n"


@pytest.mark.parametrize("declared", [True, False])
def test_a_mean_over_texts_past_a_doubles_range_rejects_them_and_is_computed(
    tmp_path: Path, declared: bool
) -> None:
    dataset: dict[str, object] = {"source": "csv", "path": "d.csv"}
    if declared:
        dataset["fields"] = {"id": "string", "x": "number"}
    spec = "name: m\nkind: mean\ndataset: d\nfield: x\nmin_n: 1\nperiod: none\n"
    config = write_project(tmp_path, {"d": dataset}, {"m": spec}, {"d.csv": ROWS})
    result = run_project(load_config(config), store=False)
    assert not result.failed, result.failed
    (value,) = [v for v in result.values if not v.slice]
    assert value.n == 3
    assert value.value == pytest.approx((1e150 + 2 + 4) / 3)
    rejected = {(r.locator, r.value) for r in result.rejects if r.field == "x"}
    assert rejected == {
        ("d.csv:2", "1e400"),
        ("d.csv:3", "-1e309"),
        ("d.csv:4", "1.7976931348623159e308"),
    }
