"""The headline of a metric: latest complete period, change and its test, targets."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from cxengine.plugins import Registry, get_plugin_manager
from cxengine.report.data import MetricData, Value
from cxengine.report.headline import headline

REGISTRY = Registry(get_plugin_manager(load_entry_points=False))


def share(period: str, k: int, n: int, **slice_: Any) -> Value:
    return Value(
        "csat", period, dict(slice_), 100 * k / n, None, None, n, n < 30, 0, None,
        {"n": n, "positive": k},
    )  # fmt: skip


def metric(points: list[Value], **spec: Any) -> MetricData:
    raw = {
        "name": "csat", "kind": "share", "dataset": "d", "field": "x", "positive": {"min": 4},
        "period": "month", "time": "t", "unit": "%", **spec,
    }  # fmt: skip
    aggregation = REGISTRY.aggregations["share"]
    model = aggregation.spec_model.model_validate(raw)
    return MetricData("csat", "share", "CSAT", "%", "month", raw, model, aggregation, points)


def test_the_month_under_way_is_not_the_headline() -> None:
    m = metric(
        [share("2025-10-01", 60, 100), share("2025-11-01", 80, 100), share("2025-12-01", 5, 10)]
    )
    h = headline(m, today=date(2025, 12, 14))
    assert (h.period_label, h.point and h.point.value, h.partial) == ("2025-11", 80.0, False)
    assert h.change == 20.0 and h.better is True
    assert h.significant and h.p_value is not None and h.p_value < 0.01
    assert h.change_text() == "↑ +20.0 pp *"
    # Once December is over it is the headline: 50 % of 10 answers, 30 points down.
    h = headline(m, today=date(2026, 1, 1))
    assert h.period_label == "2025-12" and h.low_sample and h.change == -30.0


def test_a_small_change_is_not_marked_significant() -> None:
    m = metric([share("2025-10-01", 60, 100), share("2025-11-01", 62, 100)])
    h = headline(m, today=date(2026, 1, 1))
    assert h.change == 2.0 and not h.significant and h.change_text() == "↑ +2.0 pp"
    assert h.significance_text().startswith("not significant (p=")


def test_only_a_partial_period_is_shown_as_partial() -> None:
    h = headline(metric([share("2025-12-01", 5, 10)]), today=date(2025, 12, 3))
    assert h.partial and h.period_label == "2025-12" and h.change is None


def test_targets_speak_in_units_and_list_the_slices_that_miss() -> None:
    points = [
        share("2025-11-01", 70, 100),
        share("2025-11-01", 40, 100, channel="phone"),
        share("2025-11-01", 90, 100, channel="chat"),
    ]
    target = {"warn_below": 75, "slices": {"channel": {"phone": {"fail_below": 50}}}}
    h = headline(metric(points, target=target, by=["channel"]), today=date(2026, 1, 1))
    assert h.target == ("warn", "70.0 % below 75.0 %")
    assert [(t.slice, t.verdict, t.reason) for t in h.misses] == [
        ({"channel": "phone"}, "fail", "40.0 % below 50.0 %")
    ]


def test_an_empty_metric_has_an_empty_headline(tmp_path: Path) -> None:
    h = headline(metric([]), today=date(2026, 1, 1))
    assert h.point is None and h.change is None
