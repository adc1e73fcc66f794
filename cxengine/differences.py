"""How a score differs between two groups of answers: the statistics every "driver" shares.

A driver compares the answers inside a group (tickets that were reopened, comments
that mention delivery, first responses within 5 minutes) with the answers outside
it, on one of three measures:

- `share` (n, positive; difference in points of %): Agresti–Caffo interval (one
  success and one failure added to each group), two-proportion z-test (pooled);
- `nps` (n, promoters, detractors; NPS points): normal interval from the summed NPS
  variances, each with one pseudo-answer split over the three groups; NPS
  difference z-test;
- `mean` (n, sum, sum of squares; score units): Welch t interval and t-test.

The pseudo-answers keep a small group honestly wide: two detractors alone have a
plug-in variance of 0 and would get a zero-width interval. The tests are the ones the
CI gate uses for the same measures (docs/statistics.md), so "significant" means the
same thing in a driver table and in a regression verdict.

Used by the `drivers` kind (operational factors) and the NLP plugin's `theme_drivers`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal

from cxengine.compute.stats import (
    nps_difference_test,
    nps_variance,
    sample_variance,
    sums_overflow,
    two_proportion_ztest,
    welch_ttest,
)

Measure = Literal["share", "nps", "mean"]
MEASURES: tuple[str, ...] = ("share", "nps", "mean")


@dataclass(frozen=True)
class GroupCounts:
    """One group's counts: n, and `a`/`b` by measure.

    share: positive / unused; nps: promoters / detractors; mean: sum / sum of squares.
    """

    n: float
    a: float = 0.0
    b: float = 0.0

    def value(self, measure: Measure) -> float | None:
        """Return the group's score: % positive, NPS, or the mean."""
        if self.n <= 0:
            return None
        if measure == "share":
            return 100.0 * self.a / self.n
        if measure == "nps":
            return 100.0 * (self.a - self.b) / self.n
        return self.a / self.n


@dataclass(frozen=True)
class GroupDifference:
    """Inside minus outside, with its interval and two-sided p-value."""

    n_in: int
    n_out: int
    value_in: float | None
    value_out: float | None
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    method: str

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return asdict(self)


def group_difference(
    measure: Measure, inside: GroupCounts, outside: GroupCounts, confidence: float = 0.95
) -> GroupDifference:
    """Compare the score inside a group with the score outside it (inside − outside)."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    v_in, v_out = inside.value(measure), outside.value(measure)
    common = (int(inside.n), int(outside.n), v_in, v_out)
    if v_in is None or v_out is None:
        return GroupDifference(*common, None, None, None, None, "no answers on one side")
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    diff = v_in - v_out
    if measure == "nps":
        var = smoothed_nps_variance(inside.a, inside.b, inside.n) + smoothed_nps_variance(
            outside.a, outside.b, outside.n
        )
        half = 100.0 * z * math.sqrt(var)
        test = nps_difference_test(outside.a, outside.b, outside.n, inside.a, inside.b, inside.n)
        return GroupDifference(
            *common, diff, diff - half, diff + half, test.p_value, "NPS difference z-test"
        )
    if measure == "share":
        half = 100.0 * z * math.sqrt(_agresti_caffo_variance(inside, outside))
        ac = 100.0 * ((inside.a + 1) / (inside.n + 2) - (outside.a + 1) / (outside.n + 2))
        test = two_proportion_ztest(outside.a, outside.n, inside.a, inside.n)
        return GroupDifference(
            *common, diff, ac - half, ac + half, test.p_value, "two-proportion z-test"
        )
    return _mean_difference(inside, outside, diff, confidence, common)


def smoothed_nps_variance(promoters: float, detractors: float, n: float) -> float:
    """Return Var(NPS/100) with one pseudo-answer split over promoters, passives, detractors."""
    third = 1.0 / 3.0
    return nps_variance(promoters + third, detractors + third, n + 1.0) or 0.0


def _agresti_caffo_variance(inside: GroupCounts, outside: GroupCounts) -> float:
    var = 0.0
    for g in (inside, outside):
        p = (g.a + 1.0) / (g.n + 2.0)
        var += p * (1.0 - p) / (g.n + 2.0)
    return var


def _mean_difference(
    inside: GroupCounts,
    outside: GroupCounts,
    diff: float,
    confidence: float,
    common: tuple[int, int, float | None, float | None],
) -> GroupDifference:
    method = "Welch t-test"
    for group in (inside, outside):
        overflow = sums_overflow(group.a, group.b)
        if overflow is not None:
            return GroupDifference(*common, diff, None, None, None, f"no test: {overflow}")
    v_in = sample_variance(inside.a, inside.b, inside.n)
    v_out = sample_variance(outside.a, outside.b, outside.n)
    if v_in is None or v_out is None:
        return GroupDifference(*common, diff, None, None, None, "fewer than 2 answers on one side")
    a, b = v_in / inside.n, v_out / outside.n
    if a + b <= 0:
        return GroupDifference(*common, diff, diff, diff, 1.0 if diff == 0 else 0.0, method)
    from scipy.special import stdtrit

    df = (a + b) ** 2 / (a * a / (inside.n - 1) + b * b / (outside.n - 1))
    half = float(stdtrit(df, 1.0 - (1.0 - confidence) / 2.0)) * math.sqrt(a + b)
    test = welch_ttest(outside.a / outside.n, v_out, outside.n, inside.a / inside.n, v_in, inside.n)
    return GroupDifference(*common, diff, diff - half, diff + half, test.p_value, method)
