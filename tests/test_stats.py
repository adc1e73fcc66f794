"""Intervals and tests in cxengine.compute.stats, checked against independent code.

The worked examples come from docs/design (CSAT 62 of 100, NPS 50/30/20). Everything
else is compared with statsmodels or scipy.stats computing the same thing its own way
(from raw data where that is possible), on fixed cases and on generated ones.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from cxengine.compute.stats import (
    Interval,
    TestResult,
    benjamini_hochberg_adjust,
    holm_adjust,
    mean_interval,
    nps_difference_test,
    nps_interval,
    nps_variance,
    sample_variance,
    two_proportion_ztest,
    welch_ttest,
    wilson_interval,
)

CONFIDENCES = st.sampled_from([0.8, 0.9, 0.95, 0.99])
SM_ALTERNATIVE = {"two-sided": "two-sided", "smaller": "smaller", "larger": "larger"}
SP_ALTERNATIVE = {"two-sided": "two-sided", "smaller": "less", "larger": "greater"}
ALTERNATIVES = st.sampled_from(["two-sided", "smaller", "larger"])


def close(a: float | None, b: float, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    return a is not None and math.isclose(a, float(b), rel_tol=rel, abs_tol=abs_)


# ------------------------------------------------------------------ worked examples


def test_csat_62_of_100() -> None:
    ci = wilson_interval(62, 100)
    assert 62 / 100 == 0.62
    # Wilson by hand: z = 1.959964, centre = (0.62 + z²/200) / (1 + z²/100) = 0.61556,
    # half-width = z / (1 + z²/100) · sqrt(0.62·0.38/100 + z²/40000) = 0.09346.
    assert ci.low == pytest.approx(0.52210, abs=1e-5)
    assert ci.high == pytest.approx(0.70902, abs=1e-5)


def test_nps_50_30_20() -> None:
    promoters, passives, detractors = 50, 30, 20
    n = promoters + passives + detractors
    assert 100 * (promoters - detractors) / n == 30
    # Var(NPS/100) = (0.5 + 0.2 − 0.3²) / 100 = 0.0061; half-width 1.959964 · 0.0781 · 100.
    assert nps_variance(promoters, detractors, n) == pytest.approx(0.0061)
    ci = nps_interval(promoters, detractors, n)
    assert ci.low == pytest.approx(14.692, abs=1e-3)
    assert ci.high == pytest.approx(45.308, abs=1e-3)


def test_mean_worked_example() -> None:
    values = [1, 2, 3, 4, 5]  # mean 3, sample variance 2.5, t(0.975, 4) = 2.776445
    total, total_sq = sum(values), sum(v * v for v in values)
    assert sample_variance(total, total_sq, 5) == pytest.approx(2.5)
    ci = mean_interval(total, total_sq, 5)
    half = 2.7764451052 * math.sqrt(2.5 / 5)
    assert ci.low == pytest.approx(3 - half) and ci.high == pytest.approx(3 + half)


# ------------------------------------------------------------------------ edge cases


def test_empty_samples_give_no_bounds() -> None:
    assert wilson_interval(0, 0) == Interval(None, None)
    assert nps_interval(0, 0, 0) == Interval(None, None)
    assert mean_interval(0, 0, 0) == Interval(None, None)
    assert mean_interval(4.0, 16.0, 1) == Interval(None, None)  # n=1: no spread to measure
    assert sample_variance(4.0, 16.0, 1) is None
    assert Interval(None, None).empty and not Interval(0.0, 1.0).empty


def test_single_answer() -> None:
    ci = wilson_interval(1, 1)
    assert ci.high == 1.0 and ci.low is not None and 0 < ci.low < 1
    ci = wilson_interval(0, 1)
    assert ci.low == 0.0 and ci.high is not None and 0 < ci.high < 1
    # One promoter: zero variance, so the normal interval collapses onto 100.
    assert nps_interval(1, 0, 1) == Interval(100.0, 100.0)


def test_all_successes_and_none() -> None:
    assert wilson_interval(50, 50).high == 1.0
    assert wilson_interval(0, 50).low == 0.0
    lo, _ = proportion_confint(50, 50, alpha=0.05, method="wilson")
    assert close(wilson_interval(50, 50).low, lo)
    assert nps_interval(0, 40, 40) == Interval(-100.0, -100.0)


def test_nps_interval_is_clipped() -> None:
    ci = nps_interval(9, 0, 10)  # 90 ± 18.6 would pass 100
    assert ci.high == 100.0 and ci.low is not None and ci.low < 90


def test_zero_variance_mean() -> None:
    assert sample_variance(12.0, 48.0, 3) == 0.0
    assert mean_interval(12.0, 48.0, 3) == Interval(4.0, 4.0)


def test_cancellation_never_gives_negative_variance() -> None:
    # 1e8 + 0.1 repeated: sum_sq − sum²/n is pure rounding noise, possibly negative.
    values = [1e8 + 0.1] * 1000
    total, total_sq = math.fsum(values), math.fsum(v * v for v in values)
    assert sample_variance(total, total_sq, len(values)) == 0.0
    ci = mean_interval(total, total_sq, len(values))
    assert ci.low == ci.high == pytest.approx(1e8 + 0.1)


def test_small_real_spread_survives() -> None:
    values = [0.0, 1e-9]
    assert sample_variance(sum(values), sum(v * v for v in values), 2) == pytest.approx(5e-19)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: wilson_interval(5, 4), "cannot exceed"),
        (lambda: wilson_interval(-1, 4), "negative"),
        (lambda: wilson_interval(1, 4, confidence=1.0), "confidence"),
        (lambda: wilson_interval(math.nan, 4), "finite"),
        (lambda: nps_interval(3, 3, 5), "cannot exceed"),
        (lambda: two_proportion_ztest(1, 2, 1, 2, alternative="less"), "alternative"),  # type: ignore[arg-type]
        (lambda: welch_ttest(1, -1, 3, 1, 1, 3), "variance"),
        (lambda: holm_adjust([0.5, 1.5]), "position 1"),
        (lambda: benjamini_hochberg_adjust([math.nan]), "position 0"),
    ],
)
def test_bad_input_is_a_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_tests_on_empty_samples() -> None:
    assert two_proportion_ztest(0, 0, 3, 10).p_value is None
    assert nps_difference_test(1, 1, 3, 0, 0, 0).p_value is None
    assert welch_ttest(1.0, 1.0, 1, 2.0, 1.0, 10).p_value is None


def test_degenerate_tests_never_give_nan() -> None:
    same = two_proportion_ztest(10, 10, 20, 20)
    assert same == TestResult(0.0, 1.0, 0.0, same.method)
    flip = nps_difference_test(5, 0, 5, 0, 5, 5, "smaller")  # 100 → −100, no spread
    assert flip.difference == -200.0 and flip.statistic == -math.inf and flip.p_value == 0.0
    up = welch_ttest(3.0, 0.0, 4, 4.0, 0.0, 4, "smaller")
    assert up.difference == 1.0 and up.p_value == 1.0


def test_argument_order_is_baseline_then_current() -> None:
    drop = two_proportion_ztest(620, 1000, 540, 1000, "smaller")
    assert drop.difference == pytest.approx(-0.08)
    assert drop.statistic is not None and drop.statistic < 0
    assert drop.p_value is not None and drop.p_value < 0.001
    assert two_proportion_ztest(620, 1000, 540, 1000, "larger").p_value == pytest.approx(
        1 - drop.p_value
    )


def test_regression_gate_ignores_noise_and_catches_real_drops() -> None:
    # NPS 30 → 28 on 200 answers each is noise; 30 → 10 on 1000 each is a real drop.
    noise = nps_difference_test(50, 20, 100, 49, 21, 100, "smaller")
    assert noise.difference == pytest.approx(-2.0)
    assert noise.p_value is not None and noise.p_value > 0.3
    real = nps_difference_test(500, 200, 1000, 400, 300, 1000, "smaller")
    assert real.difference == pytest.approx(-20.0)
    assert real.p_value is not None and real.p_value < 1e-6


def test_testresult_is_frozen() -> None:
    r = two_proportion_ztest(1, 2, 1, 2)
    with pytest.raises(AttributeError):
        r.p_value = 0.5  # type: ignore[misc]


# ------------------------------------------------------- against independent code


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (62, 100), (3, 7), (999, 1000), (0, 5000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(k: int, n: int, confidence: float) -> None:
    lo, hi = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    ci = wilson_interval(k, n, confidence)
    assert close(ci.low, lo) and close(ci.high, hi)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 10**6), frac=st.floats(0, 1), confidence=CONFIDENCES)
def test_wilson_matches_statsmodels_generated(n: int, frac: float, confidence: float) -> None:
    k = round(frac * n)
    lo, hi = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    ci = wilson_interval(k, n, confidence)
    assert close(ci.low, lo, abs_=1e-12) and close(ci.high, hi, abs_=1e-12)
    assert ci.low is not None and ci.high is not None
    assert 0.0 <= ci.low <= k / n <= ci.high <= 1.0


def nps_from_raw(prom: int, det: int, n: int, confidence: float) -> tuple[float, float]:
    """NPS interval from the respondent-level scores +1 / 0 / −1 (population variance)."""
    scores = np.array([1.0] * prom + [-1.0] * det + [0.0] * (n - prom - det))
    se = math.sqrt(scores.var(ddof=0) / n)
    if se == 0:
        return 100 * scores.mean(), 100 * scores.mean()
    lo, hi = sps.norm.interval(confidence, loc=scores.mean(), scale=se)
    return max(-100.0, 100 * lo), min(100.0, 100 * hi)


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 3000),
    a=st.floats(0, 1),
    b=st.floats(0, 1),
    confidence=CONFIDENCES,
)
def test_nps_interval_matches_raw_computation(
    n: int, a: float, b: float, confidence: float
) -> None:
    prom = round(a * n)
    det = round(b * (n - prom))
    lo, hi = nps_from_raw(prom, det, n, confidence)
    ci = nps_interval(prom, det, n, confidence)
    assert close(ci.low, lo, rel=1e-7, abs_=1e-7) and close(ci.high, hi, rel=1e-7, abs_=1e-7)


@settings(max_examples=150, deadline=None)
@given(
    # Answers and durations to a micro-unit: a value like 2e-160 would square into
    # subnormal floats, where no variance formula keeps relative precision.
    values=st.lists(
        st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: round(x, 6)), min_size=2, max_size=200
    ),
    confidence=CONFIDENCES,
)
def test_mean_interval_matches_scipy_t(values: list[float], confidence: float) -> None:
    data = np.array(values)
    n = len(values)
    total, total_sq = math.fsum(values), math.fsum(v * v for v in values)
    ci = mean_interval(total, total_sq, n, confidence)
    var = sample_variance(total, total_sq, n)
    assert var is not None and var >= 0.0
    sd = data.std(ddof=1)
    # Rounding in sum_sq − sum²/n is at most ~1e-16 · sum_sq; compare at that scale.
    tol = 1e-7 * math.sqrt(total_sq / n) + 1e-9
    assert math.isclose(var, float(data.var(ddof=1)), rel_tol=1e-6, abs_tol=1e-9 * total_sq)
    if sd == 0:
        assert ci.low == ci.high == pytest.approx(total / n)
        return
    lo, hi = sps.t.interval(confidence, n - 1, loc=data.mean(), scale=sd / math.sqrt(n))
    assert ci.low == pytest.approx(lo, abs=tol) and ci.high == pytest.approx(hi, abs=tol)


@pytest.mark.parametrize("alternative", ["two-sided", "smaller", "larger"])
@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2"), [(62, 100, 50, 100), (5, 40, 9, 41), (1, 3, 0, 2)]
)
def test_ztest_matches_statsmodels(k1: int, n1: int, k2: int, n2: int, alternative: str) -> None:
    # statsmodels tests count[0] − count[1]: give it (current, baseline).
    z, p = proportions_ztest([k2, k1], [n2, n1], alternative=SM_ALTERNATIVE[alternative])
    r = two_proportion_ztest(k1, n1, k2, n2, alternative)  # type: ignore[arg-type]
    assert close(r.statistic, z) and close(r.p_value, p)
    assert close(r.difference, k2 / n2 - k1 / n1)


@settings(max_examples=200, deadline=None)
@given(
    n1=st.integers(1, 10**5),
    n2=st.integers(1, 10**5),
    f1=st.floats(0, 1),
    f2=st.floats(0, 1),
    alternative=ALTERNATIVES,
)
def test_ztest_matches_statsmodels_generated(
    n1: int, n2: int, f1: float, f2: float, alternative: str
) -> None:
    k1, k2 = round(f1 * n1), round(f2 * n2)
    r = two_proportion_ztest(k1, n1, k2, n2, alternative)  # type: ignore[arg-type]
    assert r.p_value is not None and 0.0 <= r.p_value <= 1.0
    if (k1 + k2) in (0, n1 + n2):
        assert r.statistic == 0.0 and r.p_value == 1.0  # statsmodels gives NaN here
        return
    z, p = proportions_ztest([k2, k1], [n2, n1], alternative=SM_ALTERNATIVE[alternative])
    assert close(r.statistic, z, rel=1e-8, abs_=1e-9) and close(r.p_value, p, rel=1e-7, abs_=1e-12)


def nps_test_from_raw(
    p1: int, d1: int, n1: int, p2: int, d2: int, n2: int, alternative: str
) -> tuple[float, float]:
    """The NPS test as an unpooled z-test on respondent scores (numpy + scipy.stats.norm)."""
    s1 = np.array([1.0] * p1 + [-1.0] * d1 + [0.0] * (n1 - p1 - d1))
    s2 = np.array([1.0] * p2 + [-1.0] * d2 + [0.0] * (n2 - p2 - d2))
    z = (s2.mean() - s1.mean()) / math.sqrt(s1.var() / n1 + s2.var() / n2)
    p = {
        "two-sided": 2 * sps.norm.sf(abs(z)),
        "smaller": sps.norm.cdf(z),
        "larger": sps.norm.sf(z),
    }[alternative]
    return z, p


@settings(max_examples=150, deadline=None)
@given(
    n1=st.integers(2, 2000),
    n2=st.integers(2, 2000),
    shares=st.tuples(*[st.floats(0, 1)] * 4),
    alternative=ALTERNATIVES,
)
def test_nps_test_matches_raw_computation(
    n1: int, n2: int, shares: tuple[float, float, float, float], alternative: str
) -> None:
    a1, b1, a2, b2 = shares
    p1 = round(a1 * n1)
    d1 = round(b1 * (n1 - p1))
    p2 = round(a2 * n2)
    d2 = round(b2 * (n2 - p2))
    r = nps_difference_test(p1, d1, n1, p2, d2, n2, alternative)  # type: ignore[arg-type]
    assert close(r.difference, 100 * ((p2 - d2) / n2 - (p1 - d1) / n1), abs_=1e-9)
    v1, v2 = nps_variance(p1, d1, n1), nps_variance(p2, d2, n2)
    assert v1 is not None and v2 is not None
    if v1 + v2 == 0:
        return  # covered by test_degenerate_tests_never_give_nan
    z, p = nps_test_from_raw(p1, d1, n1, p2, d2, n2, alternative)
    assert close(r.statistic, z, rel=1e-7, abs_=1e-9) and close(r.p_value, p, rel=1e-6, abs_=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "smaller", "larger"])
def test_welch_matches_scipy(alternative: str) -> None:
    baseline = (4.2, 1.1**2, 120)
    current = (3.9, 1.6**2, 80)
    r = welch_ttest(*baseline, *current, alternative)  # type: ignore[arg-type]
    ref = sps.ttest_ind_from_stats(
        current[0], math.sqrt(current[1]), current[2],
        baseline[0], math.sqrt(baseline[1]), baseline[2],
        equal_var=False, alternative=SP_ALTERNATIVE[alternative],
    )  # fmt: skip
    assert close(r.statistic, ref.statistic) and close(r.p_value, ref.pvalue)
    assert r.difference == pytest.approx(-0.3)
    assert "df=" in r.method


@settings(max_examples=200, deadline=None)
@given(
    m1=st.floats(-100, 100),
    m2=st.floats(-100, 100),
    s1=st.floats(0.01, 50),
    s2=st.floats(0.01, 50),
    n1=st.integers(2, 10**5),
    n2=st.integers(2, 10**5),
    alternative=ALTERNATIVES,
)
def test_welch_matches_scipy_generated(
    m1: float, m2: float, s1: float, s2: float, n1: int, n2: int, alternative: str
) -> None:
    r = welch_ttest(m1, s1 * s1, n1, m2, s2 * s2, n2, alternative)  # type: ignore[arg-type]
    ref = sps.ttest_ind_from_stats(
        m2, s2, n2, m1, s1, n1, equal_var=False, alternative=SP_ALTERNATIVE[alternative]
    )
    assert close(r.statistic, ref.statistic, rel=1e-9, abs_=1e-9)
    assert close(r.p_value, ref.pvalue, rel=1e-6, abs_=1e-12)


def test_welch_from_raw_samples() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(4.0, 1.0, 60), rng.normal(3.6, 1.4, 45)
    r = welch_ttest(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b))
    ref = sps.ttest_ind(b, a, equal_var=False)
    assert close(r.statistic, ref.statistic, rel=1e-9) and close(r.p_value, ref.pvalue, rel=1e-9)


# ------------------------------------------------------------ multiple comparisons


@pytest.mark.parametrize(
    "pvals",
    [
        [0.01, 0.04, 0.03, 0.005],
        [0.5],
        [0.2, 0.2, 0.2],
        [0.0, 1.0, 0.049, 0.051, 0.9],
        [0.8, 0.6, 0.4, 0.2],
    ],
)
def test_adjustments_match_statsmodels(pvals: list[float]) -> None:
    assert holm_adjust(pvals) == pytest.approx(list(multipletests(pvals, method="holm")[1]))
    bh = list(multipletests(pvals, method="fdr_bh")[1])
    assert benjamini_hochberg_adjust(pvals) == pytest.approx(bh)


def textbook_holm(p: list[float]) -> list[float]:
    """Holm's step-down adjustment, written out from its definition (the oracle)."""
    m, order = len(p), sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def textbook_bh(p: list[float]) -> list[float]:
    """Benjamini–Hochberg step-up adjustment, written out from its definition."""
    m, order = len(p), sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * m, 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, p[i] * m / (rank + 1))
        out[i] = min(1.0, running)
    return out


def test_the_textbook_oracles_agree_with_statsmodels() -> None:
    pvals = [0.01, 0.04, 0.03, 0.5, 0.001, 0.04, 1.0, 0.0]
    assert textbook_holm(pvals) == pytest.approx(list(multipletests(pvals, method="holm")[1]))
    assert textbook_bh(pvals) == pytest.approx(list(multipletests(pvals, method="fdr_bh")[1]))


# statsmodels' multipletests costs ~60 ms of CPU a call: the generated cases check
# against the textbook definitions above (themselves checked against statsmodels).
@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), max_size=40))
def test_adjustments_generated(pvals: list[float | None]) -> None:
    present = [p for p in pvals if p is not None]
    holm, bh = holm_adjust(pvals), benjamini_hochberg_adjust(pvals)
    assert len(holm) == len(bh) == len(pvals)
    # None entries pass through in place; every other entry is adjusted upwards, ≤ 1.
    for p, h, b in zip(pvals, holm, bh, strict=True):
        assert (p is None) == (h is None) == (b is None)
        if p is not None and h is not None and b is not None:
            assert p <= b <= 1.0 and h <= 1.0
            assert b <= h or math.isclose(b, h)  # BH is never stricter than Holm
    if present:
        ref_h = textbook_holm(present)
        ref_b = textbook_bh(present)
        assert [h for h in holm if h is not None] == pytest.approx(list(ref_h), rel=1e-12)
        assert [b for b in bh if b is not None] == pytest.approx(list(ref_b), rel=1e-12)


def test_adjustments_are_monotone_in_p() -> None:
    pvals = [0.03, 0.001, 0.2, 0.01, 0.04]
    for adjusted in (holm_adjust(pvals), benjamini_hochberg_adjust(pvals)):
        ranked = sorted(zip(pvals, adjusted, strict=True))
        assert all(a[1] <= b[1] for a, b in itertools.pairwise(ranked))  # type: ignore[operator]


def test_adjustments_of_nothing() -> None:
    assert holm_adjust([]) == [] and benjamini_hochberg_adjust([None]) == [None]
