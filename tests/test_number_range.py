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


# Finite values whose squares (above ~1.3e154) or sum (near 1.8e308, many of them) pass a
# double's range: the mean is still reported where it is finite, without an interval and
# with the reason, and a comparison says why it has no test, instead of the whole metric
# failing with "sums and n must be finite".
HUGE = "id,x\na,1e200\nb,-3e250\nc,2e300\nd,5\n"
PAST_THE_SUM = "id,x\na,1.5e308\nb,1.5e308\n"


def _mean_of(tmp_path: Path, rows: str) -> tuple[object, list[object]]:
    dataset = {"source": "csv", "path": "d.csv", "fields": {"id": "string", "x": "number"}}
    spec = "name: m\nkind: mean\ndataset: d\nfield: x\nmin_n: 1\nperiod: none\n"
    config = write_project(tmp_path, {"d": dataset}, {"m": spec}, {"d.csv": rows})
    result = run_project(load_config(config), store=False)
    (value,) = [v for v in result.values if not v.slice]
    return value, list(result.failed)


def test_a_mean_whose_squares_overflow_is_reported_without_an_interval(tmp_path: Path) -> None:
    value, failed = _mean_of(tmp_path, HUGE)
    assert failed == []
    assert value.n == 4
    assert value.value == pytest.approx((1e200 - 3e250 + 2e300 + 5) / 4)
    assert value.ci_low is None and value.ci_high is None
    assert value.note is not None and "squares" in value.note


def test_a_mean_whose_sum_overflows_has_no_value_and_says_why(tmp_path: Path) -> None:
    value, failed = _mean_of(tmp_path, PAST_THE_SUM)
    assert failed == []
    assert value.value is None and value.n == 2
    assert value.note is not None and "sum" in value.note


def test_comparing_means_whose_squares_overflow_is_no_test_with_the_reason() -> None:
    from cxengine.compute.comparisons import compare_means
    from cxengine.compute.stats import NoTest

    fine = {"n": 3, "sum": 6.0, "sum_sq": 14.0}
    huge = {"n": 2, "sum": 2e300, "sum_sq": float("inf")}
    for baseline, current in ((fine, huge), (huge, fine)):
        outcome = compare_means(baseline, current, "two-sided")
        assert isinstance(outcome, NoTest)
        assert "squares" in str(outcome)


@pytest.mark.parametrize(
    ("value", "text"),
    [(-2.5e299, "-2.50e+299"), (1e15, "1.00e+15"), (999_999.25, "999,999.2"), (62.04, "62.0")],
)
def test_huge_values_print_in_scientific_notation_not_as_300_digits(
    value: float, text: str
) -> None:
    from cxengine.compare.wording import with_unit

    assert with_unit(value, None) == text
