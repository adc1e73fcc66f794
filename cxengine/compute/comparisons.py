"""The usual significance tests between two values, from the counts a kind stores.

Each kind owns its test (its `compare`, the `ComparableKind` contract): a share
compares proportions, a mean compares means, NPS compares net scores, a count compares
event counts. These are the building blocks they call, public through `cxengine.api`
so a third-party kind can reuse them. Each returns a `NoTest` (why there is no test)
when the counts lack what it needs, rather than guessing another test.
"""

from __future__ import annotations

from collections.abc import Mapping

from cxengine.compute.distributions import binomial_cdf, binomial_sf
from cxengine.compute.stats import (
    Alternative,
    NoTest,
    TestResult,
    nps_difference_test,
    sample_variance,
    sums_overflow,
    two_proportion_ztest,
    welch_ttest,
)

Counts = Mapping[str, float | int | None]


def _get(counts: Counts, key: str) -> float:
    v = counts.get(key)
    return 0.0 if v is None else float(v)


def _lacking(
    baseline: Counts, current: Counts, needed: tuple[str, ...], test: str
) -> NoTest | None:
    keys = set(baseline) & set(current)
    missing = [k for k in needed if k not in keys]
    if not missing:
        return None
    shown = ", ".join(sorted(keys)) or "none"
    return NoTest(f"no {test} for counts ({shown}): it needs {', '.join(missing)}")


def compare_shares(
    baseline: Counts, current: Counts, alternative: Alternative
) -> TestResult | NoTest:
    """Two-proportion z-test (pooled) of `positive` out of `n`."""
    lacking = _lacking(baseline, current, ("n", "positive"), "two-proportion test")
    if lacking:
        return lacking
    return two_proportion_ztest(
        _get(baseline, "positive"), _get(baseline, "n"),
        _get(current, "positive"), _get(current, "n"),
        alternative,
    )  # fmt: skip


def compare_nps(baseline: Counts, current: Counts, alternative: Alternative) -> TestResult | NoTest:
    """NPS difference z-test with the summed variances, from promoters, detractors and n."""
    lacking = _lacking(baseline, current, ("n", "promoters", "detractors"), "NPS test")
    if lacking:
        return lacking
    return nps_difference_test(
        _get(baseline, "promoters"), _get(baseline, "detractors"), _get(baseline, "n"),
        _get(current, "promoters"), _get(current, "detractors"), _get(current, "n"),
        alternative,
    )  # fmt: skip


def compare_means(
    baseline: Counts, current: Counts, alternative: Alternative
) -> TestResult | NoTest:
    """Welch's t-test of two means, from n, sum and sum of squares."""
    lacking = _lacking(baseline, current, ("n", "sum", "sum_sq"), "t-test")
    if lacking:
        return lacking
    n1, n2 = _get(baseline, "n"), _get(current, "n")
    for side in (baseline, current):
        overflow = sums_overflow(_get(side, "sum"), _get(side, "sum_sq"))
        if overflow is not None:
            return NoTest(f"no t-test: {overflow}")
    var1 = sample_variance(_get(baseline, "sum"), _get(baseline, "sum_sq"), n1)
    var2 = sample_variance(_get(current, "sum"), _get(current, "sum_sq"), n2)
    if var1 is None or var2 is None:
        return NoTest("fewer than 2 answers on one side: no variance to test with")
    return welch_ttest(
        _get(baseline, "sum") / n1, var1, n1, _get(current, "sum") / n2, var2, n2, alternative
    )


def compare_event_counts(
    baseline: Counts, current: Counts, alternative: Alternative
) -> TestResult | NoTest:
    """Conditional binomial test of two Poisson counts (`n` events over equal exposure)."""
    lacking = _lacking(baseline, current, ("n",), "count test")
    if lacking:
        return lacking
    return poisson_count_test(_get(baseline, "n"), _get(current, "n"), alternative)


def poisson_count_test(k1: float, k2: float, alternative: Alternative) -> TestResult:
    """Test two event counts over equal exposure: k2 | k1 + k2 ~ Binomial(k1 + k2, 1/2).

    The exact conditional test of two Poisson rates (Przyborowski and Wilenski);
    `difference` is k2 − k1.
    """
    method = "conditional binomial test of two Poisson counts"
    total = round(k1 + k2)
    if total == 0:
        return TestResult(0.0, 1.0, 0.0, method)
    k = round(k2)
    lower = binomial_cdf(k, total, 0.5)  # P(B ≤ k)
    upper = binomial_sf(k - 1, total, 0.5)  # P(B ≥ k)
    if alternative == "smaller":
        p = lower
    elif alternative == "larger":
        p = upper
    else:  # Binomial(n, ½) is symmetric: the two-sided p doubles the smaller tail
        p = min(1.0, 2.0 * min(lower, upper))
    return TestResult(None, p, float(k2 - k1), method)
