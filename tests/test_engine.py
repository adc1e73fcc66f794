"""The engine turns a spec into one grouped query; values carry n and an interval.

These tests build DuckDB tables directly, so they check the compute layer alone:
the worked examples of metrics.md, roll-ups recomputed from counts, exclusions.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pytest
from statsmodels.stats.proportion import proportion_confint

from cxengine.compute.engine import MetricValue, compute_spec
from cxengine.default_plugins.aggregations.count import Count
from cxengine.default_plugins.aggregations.mean import Mean
from cxengine.default_plugins.aggregations.nps import Nps
from cxengine.default_plugins.aggregations.share import Share


def table(rows: list[dict[str, Any]], types: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """Make a DuckDB table `ds` with a `_cx_row` column, as the dataset loader does."""
    con = duckdb.connect()
    cols = ", ".join(f'"{k}" {t}' for k, t in types.items())
    con.execute(f"CREATE TABLE ds (_cx_row BIGINT, {cols})")
    for i, r in enumerate(rows):
        con.execute(
            f"INSERT INTO ds VALUES (?, {', '.join('?' for _ in types)})",
            [i, *(r.get(k) for k in types)],
        )
    return con


def overall(values: list[MetricValue]) -> MetricValue:
    return next(v for v in values if v.period is None and not v.slice)


def answers(**counts: int) -> list[dict[str, Any]]:
    """answers(**{"5": 40, "4": 22}) -> 62 rows with satisfaction 5 or 4."""
    return [{"satisfaction": int(k)} for k, c in counts.items() for _ in range(c)]


def test_csat_worked_example_62_of_100_is_62() -> None:
    con = table(answers(**{"5": 40, "4": 22, "3": 20, "2": 10, "1": 8}), {"satisfaction": "BIGINT"})
    spec = Share.spec_model(
        name="csat", kind="share", dataset="r", field="satisfaction", scale=[1, 5]
    )
    result = compute_spec(con, spec, Share(), "ds", {"satisfaction": "integer"})
    v = overall(result.values)
    assert (v.value, v.n) == (62.0, 100)
    low, high = proportion_confint(62, 100, alpha=0.05, method="wilson")
    assert v.ci_low == pytest.approx(100 * low) and v.ci_high == pytest.approx(100 * high)


def test_csat_on_ten_point_scale_counts_9_and_10_as_positive_by_default() -> None:
    rows = [{"satisfaction": s} for s in [10, 9, 8, 7, 10, 3, 9, 9, 1, 5]]
    con = table(rows, {"satisfaction": "BIGINT"})
    spec = Share.spec_model(
        name="csat10", kind="share", dataset="r", field="satisfaction", scale=[1, 10]
    )
    v = overall(compute_spec(con, spec, Share(), "ds", {"satisfaction": "integer"}).values)
    assert (v.value, v.n, v.counts["positive"]) == (50.0, 10, 5)


def test_nps_worked_example_50_30_20_is_30() -> None:
    rows = (
        [{"recommend": 10}] * 30
        + [{"recommend": 9}] * 20
        + [{"recommend": 8}] * 30
        + [{"recommend": 3}] * 20
    )
    con = table(rows, {"recommend": "BIGINT"})
    spec = Nps.spec_model(name="nps", kind="nps", dataset="r", field="recommend")
    v = overall(compute_spec(con, spec, Nps(), "ds", {"recommend": "integer"}).values)
    assert (v.value, v.n) == (30.0, 100)
    # Var(NPS/100) = (p + d - (p - d)^2) / n = (0.5 + 0.2 - 0.09) / 100
    half = 1.959963984540054 * ((0.5 + 0.2 - 0.3**2) / 100) ** 0.5 * 100
    assert v.ci_low == pytest.approx(30 - half) and v.ci_high == pytest.approx(30 + half)


def test_out_of_scale_answers_are_excluded_and_reported_not_counted() -> None:
    rows = [
        {"recommend": 10},
        {"recommend": 11},
        {"recommend": -1},
        {"recommend": 0},
        {"recommend": None},
    ]
    con = table(rows, {"recommend": "BIGINT"})
    spec = Nps.spec_model(name="nps", kind="nps", dataset="r", field="recommend")
    result = compute_spec(con, spec, Nps(), "ds", {"recommend": "integer"})
    v = overall(result.values)
    assert (v.n, v.rows, v.excluded) == (
        2,
        5,
        2,
    )  # 11 and -1 excluded, the empty answer is not an answer
    assert [(e.row, e.value, e.reason) for e in result.excluded] == [
        (1, "11", "recommend outside the scale 0–10"),
        (2, "-1", "recommend outside the scale 0–10"),
    ]


def test_slices_and_periods_with_rollups_recomputed_from_counts() -> None:
    rows = (
        [{"tp": "web", "at": "2025-01-05", "s": 5}] * 9
        + [{"tp": "web", "at": "2025-01-20", "s": 1}] * 1
        + [{"tp": "shop", "at": "2025-01-07", "s": 5}] * 1
        + [{"tp": "shop", "at": "2025-02-02", "s": 2}] * 9
    )
    con = table(rows, {"tp": "VARCHAR", "at": "TIMESTAMP", "s": "BIGINT"})
    spec = Share.spec_model(
        name="csat",
        kind="share",
        dataset="r",
        field="s",
        scale=[1, 5],
        by=["tp"],
        period="month",
        time="at",
    )
    vals = {
        (v.period, tuple(v.slice.items())): v
        for v in compute_spec(con, spec, Share(), "ds", {}).values
    }
    jan, feb = date(2025, 1, 1), date(2025, 2, 1)
    assert vals[(jan, (("tp", "web"),))].value == 90.0
    assert vals[(jan, (("tp", "shop"),))].value == 100.0
    assert vals[(feb, (("tp", "shop"),))].value == 0.0
    # January overall is 10 of 11 answers, not the mean of 90 % and 100 %.
    assert vals[(jan, ())].value == pytest.approx(100 * 10 / 11)
    assert vals[(None, (("tp", "shop"),))].value == 10.0
    assert vals[(None, ())].value == 50.0
    assert vals[(None, ())].n == 20


def test_filter_applies_before_counting() -> None:
    rows = [{"ch": "test", "s": 1}] * 5 + [{"ch": "web", "s": 5}] * 5
    con = table(rows, {"ch": "VARCHAR", "s": "BIGINT"})
    spec = Share.spec_model(
        name="c", kind="share", dataset="r", field="s", scale=[1, 5], where="ch <> 'test'"
    )
    v = overall(compute_spec(con, spec, Share(), "ds", {"ch": "string", "s": "integer"}).values)
    assert (v.value, v.n) == (100.0, 5)


def test_mean_with_t_interval_and_rescaling() -> None:
    from scipy import stats

    xs = [1, 2, 3, 4, 5, 5, 4, 4]
    con = table([{"x": x} for x in xs], {"x": "BIGINT"})
    spec = Mean.spec_model(name="m", kind="mean", dataset="r", field="x", scale=[1, 5])
    v = overall(compute_spec(con, spec, Mean(), "ds", {}).values)
    low, high = stats.t.interval(0.95, len(xs) - 1, loc=stats.tmean(xs), scale=stats.sem(xs))
    assert v.value == pytest.approx(3.5)
    assert (v.ci_low, v.ci_high) == (pytest.approx(low), pytest.approx(high))
    spec100 = Mean.spec_model(
        name="m", kind="mean", dataset="r", field="x", scale=[1, 5], rescale=True
    )
    v100 = overall(compute_spec(con, spec100, Mean(), "ds", {}).values)
    assert v100.value == pytest.approx(62.5)
    assert v100.ci_low == pytest.approx((low - 1) / 4 * 100)


def test_low_sample_flag_follows_min_n() -> None:
    con = table([{"x": 5}] * 10, {"x": "BIGINT"})
    small = Share.spec_model(name="c", kind="share", dataset="r", field="x", scale=[1, 5], min_n=11)
    enough = Share.spec_model(
        name="c", kind="share", dataset="r", field="x", scale=[1, 5], min_n=10
    )
    assert overall(compute_spec(con, small, Share(), "ds", {}).values).low_sample
    assert not overall(compute_spec(con, enough, Share(), "ds", {}).values).low_sample


def test_count_of_rows_and_distinct_values() -> None:
    con = table([{"c": "a"}, {"c": "a"}, {"c": "b"}, {"c": None}], {"c": "VARCHAR"})
    rows = Count.spec_model(name="n", kind="count", dataset="r")
    distinct = Count.spec_model(name="d", kind="count", dataset="r", field="c", distinct=True)
    assert overall(compute_spec(con, rows, Count(), "ds", {}).values).value == 4
    assert overall(compute_spec(con, distinct, Count(), "ds", {}).values).value == 2


def test_empty_group_gives_an_empty_value_not_an_error() -> None:
    con = table([{"x": None}], {"x": "BIGINT"})
    spec = Share.spec_model(name="c", kind="share", dataset="r", field="x", scale=[1, 5])
    v = overall(compute_spec(con, spec, Share(), "ds", {}).values)
    assert (v.value, v.n, v.ci_low, v.note) == (None, 0, None, "no answers")


def test_rows_without_a_time_are_excluded_from_periods_and_reported() -> None:
    con = table(
        [{"at": "2025-01-01", "x": 5}, {"at": None, "x": 5}], {"at": "TIMESTAMP", "x": "BIGINT"}
    )
    spec = Share.spec_model(
        name="c", kind="share", dataset="r", field="x", scale=[1, 5], period="month", time="at"
    )
    result = compute_spec(con, spec, Share(), "ds", {})
    assert overall(result.values).n == 1
    assert [(e.row, e.reason) for e in result.excluded] == [(1, "at is empty")]
