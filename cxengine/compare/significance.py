"""Which test compares two values of a metric, chosen from the kind and its raw counts.

A kind says how its values are compared with an optional method on its aggregation:

    def compare(self, spec, baseline: Counts, current: Counts,
                alternative: Alternative) -> TestResult | None

(baseline first; `alternative="smaller"` asks "is the current value lower?"; return
None when the counts do not allow a test). Kinds that do not define it get a default
chosen from the shape of their counts:

| counts | test |
|---|---|
| `n`, `promoters`, `detractors` | NPS difference z-test with the summed variances |
| `n`, `positive` | two-proportion z-test (pooled) |
| `n`, `sum`, `sum_sq` | Welch's t-test |
| `n` only (a count of events) | conditional binomial test of two Poisson counts |

A value that is not the mean of its counts (a kind whose spec says `statistic:
median` or `p90`) gets no default: sums and sums of squares say nothing about a
median, and a median test needs ranks or a histogram the counts do not keep. Such a
comparison is `inconclusive`, with that reason, unless the kind defines `compare`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cxengine.compute.stats import (
    Alternative,
    TestResult,
    nps_difference_test,
    sample_variance,
    two_proportion_ztest,
    welch_ttest,
)

Counts = Mapping[str, float | int | None]
MEAN_STATISTICS = (None, "mean", "avg", "average")


@dataclass(frozen=True)
class NoTest:
    """Why no significance test could be run (the reason of an `inconclusive`)."""

    reason: str


def _get(counts: Counts, key: str) -> float:
    v = counts.get(key)
    return 0.0 if v is None else float(v)


def poisson_count_test(k1: float, k2: float, alternative: Alternative) -> TestResult:
    """Test two event counts over equal exposure: k2 | k1 + k2 ~ Binomial(k1 + k2, 1/2).

    The exact conditional test of two Poisson rates (Przyborowski and Wilenski);
    `difference` is k2 − k1.
    """
    from scipy.stats import binomtest

    method = "conditional binomial test of two Poisson counts"
    total = round(k1 + k2)
    if total == 0:
        return TestResult(0.0, 1.0, 0.0, method)
    side = {"smaller": "less", "larger": "greater", "two-sided": "two-sided"}[alternative]
    res = binomtest(round(k2), total, 0.5, alternative=side)
    return TestResult(None, float(res.pvalue), float(k2 - k1), method)


def default_test(
    spec: Any, baseline: Counts, current: Counts, alternative: Alternative
) -> TestResult | NoTest:
    """Choose and run the test the counts allow; NoTest says why there is none."""
    keys = set(baseline) & set(current)
    statistic = getattr(spec, "statistic", None)
    if statistic not in MEAN_STATISTICS:
        return NoTest(
            f"no significance test for a {statistic} from stored counts (they keep no ranks "
            "or histogram); the kind can define compare()"
        )
    n1, n2 = _get(baseline, "n"), _get(current, "n")
    if {"n", "promoters", "detractors"} <= keys:
        return nps_difference_test(
            _get(baseline, "promoters"), _get(baseline, "detractors"), n1,
            _get(current, "promoters"), _get(current, "detractors"), n2,
            alternative,
        )  # fmt: skip
    if {"n", "positive"} <= keys:
        return two_proportion_ztest(
            _get(baseline, "positive"), n1, _get(current, "positive"), n2, alternative
        )
    if {"n", "sum", "sum_sq"} <= keys:
        var1 = sample_variance(_get(baseline, "sum"), _get(baseline, "sum_sq"), n1)
        var2 = sample_variance(_get(current, "sum"), _get(current, "sum_sq"), n2)
        if var1 is None or var2 is None:
            return NoTest("fewer than 2 answers on one side: no variance to test with")
        return welch_ttest(
            _get(baseline, "sum") / n1, var1, n1, _get(current, "sum") / n2, var2, n2, alternative
        )
    if keys == {"n"}:
        return poisson_count_test(n1, n2, alternative)
    shown = ", ".join(sorted(keys)) or "none"
    return NoTest(
        f"no default significance test for counts ({shown}); the kind can define compare()"
    )


def run_test(
    aggregation: Any, spec: Any, baseline: Counts, current: Counts, alternative: Alternative
) -> TestResult | NoTest:
    """Run the kind's own `compare` when it has one, else the default from the counts."""
    own = getattr(aggregation, "compare", None)
    if own is None:
        return default_test(spec, baseline, current, alternative)
    result = own(spec, baseline, current, alternative)
    if result is None:
        name = getattr(aggregation, "name", "?")
        return NoTest(f"kind {name!r} cannot test these counts")
    if result.p_value is not None and not (
        math.isfinite(result.p_value) and 0 <= result.p_value <= 1
    ):
        raise ValueError(f"compare() of kind {aggregation.name!r} returned p = {result.p_value!r}")
    return result


def higher_is_better(aggregation: Any, spec: Any) -> bool:
    """Return the direction of 'better': the spec's regression.direction, else the kind's."""
    rule = getattr(spec, "regression", None)
    if rule is not None and rule.direction is not None:
        return bool(rule.direction == "higher_is_better")
    return bool(getattr(aggregation, "higher_is_better", True))
