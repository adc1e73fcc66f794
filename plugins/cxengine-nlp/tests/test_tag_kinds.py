"""The tag kinds' arithmetic, from counts (what the engine's grouped query returns)."""

from __future__ import annotations

import pytest

from cxengine_nlp.kinds import ThemeDriversSpec, ThemeNpsCost, ThemeShare, drivers_from_counts


def spec(**extra: object) -> ThemeDriversSpec:
    return ThemeDriversSpec(
        name="d", kind="theme_drivers", dataset="r", field="comment", score="recommend", **extra
    )


# 10 scored responses, 8 with a tagged comment: 3 promoters, 3 detractors among them;
# 'delivery' is mentioned by 4 of those (1 promoter, 3 detractors).
COUNTS = {"n_all": 10, "p_all": 4, "d_all": 4, "n": 8, "p": 3, "d": 3,
          "n_delivery": 4, "p_delivery": 1, "d_delivery": 3}  # fmt: skip


def test_drivers_compare_with_and_without_and_price_the_detractors() -> None:
    (d,) = drivers_from_counts(spec(), COUNTS)
    assert (d.n_with, d.n_without) == (4, 4)
    assert d.with_value == pytest.approx(100 * (1 - 3) / 4)  # -50
    assert d.without_value == pytest.approx(100 * (2 - 0) / 4)  # +50
    assert d.gap == pytest.approx(-100)
    assert d.gap_low < -100 < d.gap_high
    # If delivery's 3 detractors were passives, NPS would rise by 3 of 10 responses.
    assert d.cost == pytest.approx(30.0)
    assert d.cost_low < 30 < d.cost_high


def test_a_tiny_group_gets_a_wide_interval_not_a_zero_width_one() -> None:
    counts = {**COUNTS, "n_returns": 2, "p_returns": 0, "d_returns": 2}
    returns = next(d for d in drivers_from_counts(spec(), counts) if d.theme == "returns")
    assert returns.gap_high - returns.gap_low > 50


def test_mean_measure_uses_sums() -> None:
    counts = {"n_all": 6, "n": 4, "s": 12.0, "ss": 40.0, "n_x": 2, "s_x": 4.0, "ss_x": 8.0}
    (d,) = drivers_from_counts(spec(measure="mean"), counts)
    assert (d.with_value, d.without_value, d.gap) == (2.0, 4.0, -2.0)
    assert d.cost is None


def test_share_and_cost_estimates_are_per_theme_with_wilson_intervals() -> None:
    share = ThemeShare().estimate(spec(), {"n": 8, "m_delivery": 2, "m_price": 0})
    assert share["delivery"].value == 25.0 and share["price"].value == 0.0
    assert share["price"].ci_low == 0.0 < share["price"].ci_high
    cost = ThemeNpsCost().estimate(spec(), COUNTS)
    assert (cost["delivery"].value, cost["delivery"].n) == (pytest.approx(30.0), 10)
    assert ThemeShare().estimate(spec(), {"n": 0, "m_delivery": 0})["delivery"].value is None
