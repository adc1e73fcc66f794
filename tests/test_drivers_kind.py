"""The `drivers` kind: a score across the levels and bands of operational factors."""

from __future__ import annotations

import duckdb
import pytest

from cxengine.compute.engine import compute_spec
from cxengine.default_plugins.aggregations.drivers import Drivers, DriversSpec
from cxengine.differences import GroupCounts, group_difference


def _table(rows: list[tuple[int, bool | None, float | None, str]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (_cx_row BIGINT, recommend BIGINT, reopened BOOLEAN, frt_min DOUBLE, "
        "channel VARCHAR)"
    )
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [(i, *r) for i, r in enumerate(rows)])
    return con


TYPES = {"recommend": "integer", "reopened": "boolean", "frt_min": "number", "channel": "string"}


def _rows() -> list[tuple[int, bool | None, float | None, str]]:
    # Reopened tickets: 2 promoters, 8 detractors of 10; others: 30 promoters, 10
    # detractors, 10 passives of 50; one answer without a ticket.
    out: list[tuple[int, bool | None, float | None, str]] = []
    out += [(10, True, 40.0, "chat")] * 2 + [(3, True, 200.0, "email")] * 8
    out += [(9, False, 2.0, "chat")] * 30 + [(5, False, 10.0, "email")] * 10
    out += [(7, False, 3.0, "phone")] * 10
    out.append((10, None, None, "web"))
    return out


def _spec(**kw: object) -> DriversSpec:
    base = {
        "name": "nps_drivers", "kind": "drivers", "dataset": "d", "score": "recommend",
        "factors": ["reopened", {"field": "frt_min", "bands": [0, 5, 30, 120, 1440]}],
    }  # fmt: skip
    return DriversSpec.model_validate({**base, **kw})


def _overall(values):
    return {v.slice["driver"]: v for v in values if v.period is None and len(v.slice) == 1}


def test_reopened_tickets_cost_nps_with_interval_test_and_share():
    con = _table(_rows())
    result = compute_spec(con, _spec(), Drivers(), "t", TYPES)
    values = _overall(result.values)
    reopened = values["reopened = true"]
    # NPS 2/10 − 8/10 = −60 vs (30 − 10)/50 = 40: a 100-point gap.
    assert reopened.value == pytest.approx(-100.0)
    assert reopened.n == 10
    assert reopened.counts["n_rest"] == 50
    assert reopened.counts["share"] == pytest.approx(100 * 10 / 60)
    assert reopened.counts["score"] == pytest.approx(-60.0)
    assert reopened.counts["score_rest"] == pytest.approx(40.0)
    assert reopened.counts["p_value"] < 0.001
    assert reopened.ci_low < -100 < reopened.ci_high < 0
    assert values["reopened = false"].value == pytest.approx(100.0)


def test_bands_are_levels_and_each_factor_is_ranked_by_effect():
    con = _table(_rows())
    values = _overall(compute_spec(con, _spec(), Drivers(), "t", TYPES).values)
    bands = {k: v for k, v in values.items() if k.startswith("frt_min_band")}
    assert set(bands) == {"frt_min_band = 0–5 min", "frt_min_band = 5–30 min",
                          "frt_min_band = 30–120 min", "frt_min_band = 120–1440 min"}  # fmt: skip
    ranks = sorted((v.counts["rank"], abs(v.value), k) for k, v in bands.items())
    assert [r[0] for r in ranks] == [1, 2, 3, 4]
    effects = [r[1] for r in ranks]
    assert effects == sorted(effects, reverse=True)
    # 0–5 min: NPS 75 (30 promoters, 10 passives) vs −80 for the rest: 155 points.
    assert ranks[0][2] == "frt_min_band = 0–5 min"
    assert bands["frt_min_band = 0–5 min"].value == pytest.approx(155.0)


def test_share_measure_and_slices():
    con = _table(_rows())
    spec = _spec(measure="share", scale=[0, 10], positive={"min": 9}, factors=["reopened"],
                 by=["channel"])  # fmt: skip
    values = compute_spec(con, spec, Drivers(), "t", TYPES).values
    overall = _overall(values)
    assert overall["reopened = true"].value == pytest.approx(20.0 - 60.0)
    chat = [v for v in values if v.slice.get("channel") == "chat" and v.period is None]
    assert {v.slice["driver"] for v in chat} == {"reopened = true", "reopened = false"}


def test_a_factor_cannot_also_be_a_slice_or_listed_twice():
    with pytest.raises(ValueError, match="both a factor and a slice"):
        _spec(by=["reopened"])
    with pytest.raises(ValueError, match="listed twice"):
        _spec(factors=["reopened", "reopened"])


def test_shared_difference_statistics_match_the_gate_tests():
    from cxengine.compute.stats import nps_difference_test, two_proportion_ztest, welch_ttest

    d = group_difference("share", GroupCounts(40, 30), GroupCounts(60, 30))
    assert d.difference == pytest.approx(25.0)
    assert d.p_value == pytest.approx(two_proportion_ztest(30, 60, 30, 40).p_value)
    d = group_difference("nps", GroupCounts(40, 20, 5), GroupCounts(60, 20, 20))
    assert d.difference == pytest.approx(37.5 - 0.0)
    assert d.p_value == pytest.approx(nps_difference_test(20, 20, 60, 20, 5, 40).p_value)
    d = group_difference("mean", GroupCounts(3, 12, 50), GroupCounts(3, 6, 14))
    assert d.difference == pytest.approx(2.0)
    assert d.p_value == pytest.approx(welch_ttest(2, 1, 3, 4, 1, 3).p_value)
    assert d.low is not None and d.low < 2 < d.high
    empty = group_difference("nps", GroupCounts(0), GroupCounts(5, 1, 1))
    assert empty.difference is None and empty.method == "no answers on one side"


def test_the_gate_compares_a_driver_between_runs_with_its_standard_errors():
    from cxengine.compute.stats import NoTest, TestResult

    con = _table(_rows())
    values = _overall(compute_spec(con, _spec(), Drivers(), "t", TYPES).values)
    now = values["reopened = true"].counts
    assert now["difference"] == pytest.approx(-100.0)
    half = (values["reopened = true"].ci_high - values["reopened = true"].ci_low) / 2
    assert now["se"] == pytest.approx(half / 1.959964, rel=1e-5)
    before = {**now, "difference": -20.0}
    result = Drivers().compare(_spec(), before, now, "smaller")
    assert isinstance(result, TestResult) and result.difference == pytest.approx(-80.0)
    expected_z = -80.0 / (2**0.5 * now["se"])
    assert result.statistic == pytest.approx(expected_z)
    assert result.p_value < 0.05
    missing = Drivers().compare(_spec(), {"n": 0}, now, "two-sided")
    assert isinstance(missing, NoTest)
