"""Confidence intervals and significance tests for CX scores, from summary counts.

Every value the engine stores carries an interval, and the CI regression gate calls
a test before it calls a drop "real". All of it works from the counts a grouped SQL
query returns (n, successes, promoters/detractors, sum, sum of squares), so nothing
here ever needs the raw rows.

Conventions, chosen so callers never have to special-case:

- An empty sample (n = 0, or n < 2 where a variance is needed) gives an `Interval`
  with None bounds or a `TestResult` with None statistic and p-value: never an
  exception, never NaN.
- Nonsense input (more successes than answers, negative counts, a confidence
  outside (0, 1), an unknown alternative) is a programming error and raises
  ValueError.
- Two-sample tests take the **baseline first and the current sample second**;
  `difference` is always "current minus baseline", so a drop is negative and
  `alternative="smaller"` asks "is the current value lower than the baseline?".

The distribution functions are cxengine.compute.distributions (pure Python): a run
never imports scipy for them.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from cxengine.compute.distributions import normal_cdf, t_cdf, t_quantile

Alternative = Literal["two-sided", "smaller", "larger"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "smaller", "larger")

# The subtraction sum_sq - sum²/n loses every significant digit when the values are
# large and nearly equal; a result this small relative to sum_sq is rounding noise,
# not spread, and is treated as zero.
_CANCELLATION = 16 * sys.float_info.epsilon


@dataclass(frozen=True)
class Interval:
    """A confidence interval; both bounds are None when there is nothing to estimate."""

    low: float | None
    high: float | None

    @property
    def empty(self) -> bool:
        """Return True when the interval could not be computed."""
        return self.low is None or self.high is None


@dataclass(frozen=True)
class TestResult:
    """The outcome of a two-sample test: current minus baseline, and its p-value."""

    __test__ = False  # not a pytest test class, despite the name

    statistic: float | None
    p_value: float | None
    difference: float | None
    method: str


@dataclass(frozen=True)
class NoTest:
    """Why no significance test could be run (the reason of an `inconclusive`)."""

    reason: str


NO_INTERVAL = Interval(None, None)


# --------------------------------------------------------------------------- checks


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")


def _check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(
            f"alternative {alternative!r} is not known; use one of: {', '.join(ALTERNATIVES)}"
        )


def _check_counts(name: str, part: float, n: float) -> None:
    if not (math.isfinite(part) and math.isfinite(n)):
        raise ValueError(f"{name} and n must be finite numbers, got {part!r} and {n!r}")
    if n < 0 or part < 0:
        raise ValueError(f"{name} and n must not be negative, got {part!r} and {n!r}")
    if part > n:
        raise ValueError(f"{name} ({part!r}) cannot exceed n ({n!r})")


def _z_quantile(confidence: float) -> float:
    # The standard library's inverse normal (Wichura's AS 241, accurate to double
    # precision) spares share- and NPS-only runs the 0.25 s import of scipy.special.
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def _normal_p(z: float, alternative: str) -> float:
    """Return the p-value of a standard-normal statistic (H1 in `alternative`'s direction)."""
    if alternative == "smaller":
        return normal_cdf(z)
    if alternative == "larger":
        return normal_cdf(-z)
    return min(1.0, 2.0 * normal_cdf(-abs(z)))


def _t_p(t: float, df: float, alternative: str) -> float:
    """Return the p-value of a Student-t statistic with `df` degrees of freedom."""
    if alternative == "smaller":
        return t_cdf(t, df)
    if alternative == "larger":
        return t_cdf(-t, df)
    return min(1.0, 2.0 * t_cdf(-abs(t), df))


def _degenerate(difference: float, alternative: str, method: str) -> TestResult:
    """Return the result for a zero standard error (both samples without spread).

    With no spread at all, equal estimates are no evidence of change (p = 1) and
    different ones are certain (statistic ±inf, p = 0 in the direction of the change).
    """
    if difference == 0:
        return TestResult(0.0, 1.0, 0.0, method)
    statistic = math.copysign(math.inf, difference)
    return TestResult(statistic, _normal_p(statistic, alternative), difference, method)


# ------------------------------------------------------------------------ intervals


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> Interval:
    """Return the Wilson score interval of a share, on the proportion scale 0–1."""
    _check_confidence(confidence)
    _check_counts("successes", successes, n)
    if n == 0:
        return NO_INTERVAL
    z = _z_quantile(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    # Pin the closed ends exactly: 0 of n can't have a lower bound above 0 (rounding
    # would otherwise give 1e-17), n of n can't have an upper bound below 1.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low, high)


def nps_variance(promoters: float, detractors: float, n: float) -> float | None:
    """Return Var(NPS/100) = (p + d − (p − d)²) / n, or None when n is 0."""
    _check_counts("promoters", promoters, n)
    _check_counts("detractors", detractors, n)
    if promoters + detractors > n * (1.0 + 1e-12):
        raise ValueError(
            f"promoters + detractors ({promoters!r} + {detractors!r}) cannot exceed n ({n!r})"
        )
    if n == 0:
        return None
    p, d = promoters / n, detractors / n
    return max(0.0, p + d - (p - d) ** 2) / n


def nps_interval(
    promoters: float, detractors: float, n: float, confidence: float = 0.95
) -> Interval:
    """Return the normal-approximation interval of an NPS, on −100…100."""
    _check_confidence(confidence)
    var = nps_variance(promoters, detractors, n)
    if var is None:
        return NO_INTERVAL
    nps = 100.0 * (promoters - detractors) / n
    half = 100.0 * _z_quantile(confidence) * math.sqrt(var)
    return Interval(max(-100.0, nps - half), min(100.0, nps + half))


def sums_overflow(total: float, total_sq: float) -> str | None:
    """Say why a sum and a sum of squares cannot give a variance, or None when they can.

    Finite values can still overflow their sums: a square passes a double's range above
    |x| ≈ 1.3e154, a sum of many values near 1.8e308. The mean may still be known (the
    sum is finite) while the spread is not; callers report that instead of failing.
    """
    if not math.isfinite(total):
        return "the sum of the values exceeds a double's range"
    if not math.isfinite(total_sq):
        return "the squares of the values exceed a double's range (|value| above ~1.3e154)"
    return None


def sample_variance(total: float, total_sq: float, n: float) -> float | None:
    """Return the sample variance (n − 1 denominator) from a sum and a sum of squares."""
    if not (math.isfinite(total) and math.isfinite(total_sq) and math.isfinite(n)):
        raise ValueError(f"sums and n must be finite, got {total!r}, {total_sq!r}, {n!r}")
    if n < 0:
        raise ValueError(f"n must not be negative, got {n!r}")
    if n < 2:
        return None
    ss = total_sq - total * total / n
    # Cancellation can push ss slightly below zero (or leave pure noise above it)
    # when the values are equal or nearly so; both mean "no spread".
    if ss <= _CANCELLATION * abs(total_sq):
        return 0.0
    return ss / (n - 1)


def mean_interval(total: float, total_sq: float, n: float, confidence: float = 0.95) -> Interval:
    """Return the Student-t interval of a mean from its sum and sum of squares."""
    _check_confidence(confidence)
    var = sample_variance(total, total_sq, n)
    if var is None:
        return NO_INTERVAL
    mean = total / n
    half = t_quantile(1.0 - (1.0 - confidence) / 2.0, n - 1) * math.sqrt(var / n)
    return Interval(mean - half, mean + half)


# ---------------------------------------------------------------------------- tests


def two_proportion_ztest(
    k1: float, n1: float, k2: float, n2: float, alternative: Alternative = "two-sided"
) -> TestResult:
    """Test two shares with the pooled z-test; sample 1 is the baseline, 2 the current.

    `difference` is p2 − p1 on the proportion scale 0–1 (current minus baseline);
    `alternative="smaller"` tests whether the current share is lower than the baseline.
    """
    _check_alternative(alternative)
    _check_counts("k1", k1, n1)
    _check_counts("k2", k2, n2)
    method = "two-proportion z-test (pooled)"
    if n1 == 0 or n2 == 0:
        return TestResult(None, None, None, method)
    p1, p2 = k1 / n1, k2 / n2
    difference = p2 - p1
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se == 0:
        return _degenerate(difference, alternative, method)
    z = difference / se
    return TestResult(z, _normal_p(z, alternative), difference, method)


def nps_difference_test(
    prom1: float,
    det1: float,
    n1: float,
    prom2: float,
    det2: float,
    n2: float,
    alternative: Alternative = "two-sided",
) -> TestResult:
    """Test two NPS values with a z-test on the summed variances; 1 is the baseline.

    `difference` is NPS2 − NPS1 in NPS points (−200…200), current minus baseline.
    """
    _check_alternative(alternative)
    var1 = nps_variance(prom1, det1, n1)
    var2 = nps_variance(prom2, det2, n2)
    method = "NPS difference z-test"
    if var1 is None or var2 is None:
        return TestResult(None, None, None, method)
    diff = (prom2 - det2) / n2 - (prom1 - det1) / n1  # on the −2…2 scale of NPS/100
    se = math.sqrt(var1 + var2)
    if se == 0:
        return _degenerate(100.0 * diff, alternative, method)
    z = diff / se
    return TestResult(z, _normal_p(z, alternative), 100.0 * diff, method)


def welch_ttest(
    mean1: float,
    var1: float,
    n1: float,
    mean2: float,
    var2: float,
    n2: float,
    alternative: Alternative = "two-sided",
) -> TestResult:
    """Test two means with Welch's t-test from summary statistics; 1 is the baseline.

    `var1`/`var2` are sample variances (n − 1 denominator); `difference` is
    mean2 − mean1, current minus baseline. The degrees of freedom follow
    Welch–Satterthwaite.
    """
    _check_alternative(alternative)
    for name, v in (("var1", var1), ("var2", var2)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite, non-negative variance, got {v!r}")
    method = "Welch t-test"
    if n1 < 2 or n2 < 2:
        return TestResult(None, None, None, method)
    difference = mean2 - mean1
    a, b = var1 / n1, var2 / n2
    se2 = a + b
    if se2 == 0:
        return _degenerate(difference, alternative, method)
    df = se2 * se2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    t = difference / math.sqrt(se2)
    return TestResult(t, _t_p(t, df, alternative), difference, f"{method} (df={df:.4g})")


# --------------------------------------------------------------- multiple comparisons


def _present(p_values: Sequence[float | None]) -> list[tuple[int, float]]:
    """Return (position, p) for the non-None entries, validated."""
    out: list[tuple[int, float]] = []
    for i, p in enumerate(p_values):
        if p is None:
            continue
        if not 0.0 <= p <= 1.0:  # also rejects NaN
            raise ValueError(f"p-value at position {i} must be within 0…1, got {p!r}")
        out.append((i, float(p)))
    return out


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Return Holm step-down adjusted p-values (family-wise error), in input order."""
    present = sorted(_present(p_values), key=lambda ip: ip[1])
    m = len(present)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (i, p) in enumerate(present):
        # Step-down: never smaller than the adjusted value of a smaller p.
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def benjamini_hochberg_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Return Benjamini–Hochberg adjusted p-values (false discovery rate), in input order."""
    present = sorted(_present(p_values), key=lambda ip: ip[1])
    m = len(present)
    out: list[float | None] = [None] * len(p_values)
    running = 1.0
    for rank in range(m - 1, -1, -1):
        # Step-up: never larger than the adjusted value of a larger p.
        i, p = present[rank]
        # p / (rank/m) rather than m·p/rank: the former can never round below p.
        running = min(running, p / ((rank + 1) / m))
        out[i] = running
    return out


__all__ = [
    "ALTERNATIVES",
    "Alternative",
    "Interval",
    "TestResult",
    "benjamini_hochberg_adjust",
    "holm_adjust",
    "mean_interval",
    "nps_difference_test",
    "nps_interval",
    "nps_variance",
    "sample_variance",
    "sums_overflow",
    "two_proportion_ztest",
    "welch_ttest",
    "wilson_interval",
]
