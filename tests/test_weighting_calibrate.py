"""Post-stratification, raking and Kish's effective n, checked against samplics and statsmodels.

The data are generated with a known non-response pattern: the population's segments
answer at different rates, and the score differs by segment, so the unweighted share
is biased and the weights must undo exactly the response-rate differences.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
import pytest

from cxengine.weighting.calibrate import (
    Trim,
    WeightingError,
    calibrate,
    margin_shares,
)
from cxengine.weighting.estimates import effective_counts, kish_effective_n, weighted_estimate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # samplics warns that it is archived
    samplics_weighting = pytest.importorskip("samplics.weighting")
from statsmodels.stats.weightstats import DescrStatsW

SEGMENTS = {"smb": 0.6, "mid": 0.3, "enterprise": 0.1}
CHANNELS = {"web": 0.5, "email": 0.3, "phone": 0.2}
RATES = {"smb": 0.1, "mid": 0.25, "enterprise": 0.5}


def _respondents(seed: int, invited: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment, channel and a 0/1 'satisfied' answer of the invitations that were answered."""
    rng = np.random.default_rng(seed)
    seg = rng.choice(list(SEGMENTS), invited, p=list(SEGMENTS.values()))
    ch = rng.choice(list(CHANNELS), invited, p=list(CHANNELS.values()))
    happy = rng.random(invited) < np.where(seg == "enterprise", 0.85, 0.55)
    answered = rng.random(invited) < np.vectorize(RATES.get)(seg)
    return seg[answered], ch[answered], happy[answered]


def _per_respondent(cal_weights: dict, cells: list[tuple]) -> np.ndarray:
    return np.array([cal_weights[c] for c in cells])


def test_post_stratification_matches_samplics_and_sets_each_cell_to_its_population_share():
    seg, _, _ = _respondents(1)
    counts = Counter((s,) for s in seg)
    cal = calibrate(counts, ["segment"], {"segment": SEGMENTS})
    mine = _per_respondent(cal.weights, [(s,) for s in seg])
    theirs = samplics_weighting.SampleWeight().poststratify(
        samp_weight=np.ones(len(seg)), control={k: v * 1000 for k, v in SEGMENTS.items()},
        domain=seg,
    )  # fmt: skip
    np.testing.assert_allclose(mine / mine.mean(), theirs / theirs.mean(), rtol=1e-9)
    assert mine.mean() == pytest.approx(1.0)
    for name, share in SEGMENTS.items():
        assert mine[seg == name].sum() / mine.sum() == pytest.approx(share)
    assert cal.iterations == 1 and cal.converged


def test_raking_on_two_fields_matches_samplics_rake():
    seg, ch, _ = _respondents(2)
    counts = Counter(zip(seg, ch, strict=True))
    cal = calibrate(
        counts, ["segment", "channel"], {"segment": SEGMENTS, "channel": CHANNELS},
        tolerance=1e-12,
    )  # fmt: skip
    mine = _per_respondent(cal.weights, list(zip(seg, ch, strict=True)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = samplics_weighting.SampleWeight().rake(
            samp_weight=np.ones(len(seg)),
            margins={"segment": seg, "channel": ch},
            control={
                "segment": {k: v * 1000 for k, v in SEGMENTS.items()},
                "channel": {k: v * 1000 for k, v in CHANNELS.items()},
            },
            tol=1e-12, ctrl_tol=1e-12, max_iter=500,
        )  # fmt: skip
    np.testing.assert_allclose(mine / mine.mean(), theirs / theirs.mean(), rtol=1e-6)
    for name, share in CHANNELS.items():
        assert mine[ch == name].sum() / mine.sum() == pytest.approx(share, abs=1e-9)
    assert cal.iterations > 1


def test_weighted_share_and_interval_agree_with_statsmodels_on_kish_weights():
    seg, _, happy = _respondents(3)
    counts = Counter((s,) for s in seg)
    cal = calibrate(counts, ["segment"], {"segment": SEGMENTS})
    w = _per_respondent(cal.weights, [(s,) for s in seg])
    n_eff = kish_effective_n(w.sum(), (w * w).sum())
    assert n_eff == pytest.approx(cal.effective_n)
    assert n_eff == pytest.approx(w.sum() ** 2 / (w**2).sum())
    x = happy.astype(float)
    eff = effective_counts({"n": w.sum(), "sum": (w * x).sum(), "sum_sq": (w * x * x).sum()},
                           (w * w).sum())  # fmt: skip
    est = weighted_estimate(eff, 0.95)
    # statsmodels with the weights rescaled to sum to n_eff: its weighted mean, and its
    # t interval (std with ddof 0 over sqrt(n_eff − 1)) is exactly the Kish interval.
    d = DescrStatsW(x, weights=w * n_eff / w.sum(), ddof=0)
    low, high = d.tconfint_mean(0.05)
    assert est.value == pytest.approx(d.mean)
    # statsmodels' tconfint_mean uses std / sqrt(sum_weights - 1) with ddof 0 …
    half_sm = (high - low) / 2
    half_mine = (est.ci_high - est.ci_low) / 2
    assert half_mine == pytest.approx(half_sm, rel=1e-9)
    # … and the weighted share is the population-weighted mean of the segment shares.
    truth_like = sum(SEGMENTS[s] * x[seg == s].mean() for s in SEGMENTS)
    assert d.mean == pytest.approx(truth_like)


def test_weighted_share_uses_wilson_on_effective_counts():
    eff = effective_counts({"n": 200.0, "positive": 150.0}, 400.0)  # n_eff = 100
    assert eff == {"n": 100.0, "positive": 75.0}
    est = weighted_estimate(eff)
    assert est.value == pytest.approx(75.0) and est.n == 100
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(75, 100, method="wilson")
    assert (est.ci_low, est.ci_high) == pytest.approx((100 * low, 100 * high))


def test_weighted_nps_interval_uses_effective_n():
    eff = effective_counts({"n": 100.0, "promoters": 50.0, "detractors": 20.0}, 200.0)
    est = weighted_estimate(eff)
    assert est.value == pytest.approx(30.0) and est.n == 50
    var = (0.5 + 0.2 - 0.3**2) / 50
    assert est.ci_high - est.value == pytest.approx(100 * 1.959964 * math.sqrt(var), rel=1e-5)


def test_empty_population_cell_is_reported_and_the_rest_renormalised():
    cal = calibrate({("smb",): 50, ("mid",): 50}, ["segment"], {"segment": SEGMENTS})
    (msg,) = cal.messages
    assert msg.path == ("margins", "segment", "enterprise")
    assert "empty cell" in msg.message and "10.0 %" in msg.message
    assert cal.weights[("smb",)] == pytest.approx(2 * 0.6 / 0.9)


def test_respondents_in_a_category_the_population_lacks_are_an_error():
    with pytest.raises(WeightingError) as info:
        calibrate({("smb",): 5, ("vip",): 3}, ["segment"], {"segment": SEGMENTS})
    (msg,) = info.value.messages
    assert msg.path == ("margins", "segment") and "'vip'" in msg.message
    assert "3 respondent(s)" in msg.message


def test_respondents_with_an_empty_weighting_field_are_counted_and_left_out():
    cal = calibrate({("smb",): 6, (None,): 4, ("mid",): 3, ("enterprise",): 1}, ["segment"],
                    {"segment": SEGMENTS})  # fmt: skip
    assert cal.unweighted == 4 and cal.n == 10
    assert any("4 respondent(s) have an empty segment" in m.message for m in cal.messages)


def test_shares_that_do_not_add_up_are_refused_and_count_totals_that_differ_warned():
    with pytest.raises(WeightingError, match=r"add up to 0\.9, not 1"):
        calibrate({("a",): 1}, ["segment"], {"segment": {"a": 0.5, "b": 0.4}})
    _, messages = margin_shares({"segment": {"a": 600, "b": 400}, "channel": {"x": 900}})
    (msg,) = messages
    assert msg.severity == "warning" and "don't add up" in msg.message and "1000" in msg.message
    shares, messages = margin_shares({"segment": {"a": 60, "b": 40}})
    assert messages == [] and shares == {"segment": {"a": 0.6, "b": 0.4}}


def test_negative_margin_is_an_error_naming_the_value():
    with pytest.raises(WeightingError, match="margin of segment = 'b' must be a number"):
        calibrate({("a",): 1}, ["segment"], {"segment": {"a": 5, "b": -1}})


def test_extreme_weights_warn_and_trimming_caps_them_keeping_the_total():
    sample = {("rare",): 2, ("common",): 198}
    margins = {"segment": {"rare": 0.3, "common": 0.7}}
    loose = calibrate(sample, ["segment"], margins)
    assert loose.largest == pytest.approx(30.0)
    assert any("extreme weight 30.0×" in m.message for m in loose.messages)
    capped = calibrate(sample, ["segment"], margins, trim=Trim(max=5))
    assert capped.largest == pytest.approx(5.0)
    total = sum(capped.respondents[c] * w for c, w in capped.weights.items())
    assert total == pytest.approx(200.0)
    assert capped.trimmed == 2 and capped.largest_before_trim == pytest.approx(30.0)
    (msg,) = capped.messages
    assert msg.path == ("trim",) and "capped at 5×" in msg.message and "miss" in msg.message
    assert capped.effective_n > loose.effective_n


def test_kish_effective_n_of_equal_weights_is_n():
    cal = calibrate({("a",): 30, ("b",): 70}, ["segment"], {"segment": {"a": 30, "b": 70}})
    assert cal.effective_n == pytest.approx(100.0)
    assert "design effect 1.00" in cal.summary()
