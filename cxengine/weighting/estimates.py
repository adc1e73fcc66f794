"""Weighted shares, NPS and means with intervals from Kish's effective sample size.

The grouped query returns weighted sums (Σw over the answers, Σw·positive, Σw·x,
Σw·x², …) and Σw². These become *effective counts*: every weighted sum scaled by
n_eff / Σw, where n_eff = (Σw)² / Σw² (Kish). An effective count behaves like an
unweighted count from a simple random sample of n_eff answers with the weighted
proportions, so the interval formulas of unweighted values apply unchanged (Wilson
for a share, Var(NPS/100) = (p + d − (p − d)²) / n for NPS, Student t for a mean),
and so does the regression gate's significance test: the stored counts of a
weighted value are effective counts.

Why Kish and not a linearisation (Taylor) variance: see docs/statistics.md. In short,
the effective counts work from aggregates for every kind and every roll-up, plug into
the existing interval and test formulas, and are conservative for post-stratified and
raked estimates (they charge the cost of unequal weights but do not credit the
precision gained when the score differs between cells).
"""

from __future__ import annotations

from collections.abc import Mapping

from cxengine.compute.stats import mean_interval, nps_interval, wilson_interval
from cxengine.interfaces import Estimate

#: The count families a weighted value can be estimated from (the kind's count names).
SHARE = ("n", "positive")
NPS = ("n", "promoters", "detractors")
MEAN = ("n", "sum", "sum_sq")


def kish_effective_n(sum_w: float, sum_w2: float) -> float:
    """Return Kish's effective sample size (Σw)² / Σw² (0 when there are no weights)."""
    return sum_w * sum_w / sum_w2 if sum_w2 > 0 else 0.0


def effective_counts(weighted: Mapping[str, float | None], sum_w2: float) -> dict[str, float]:
    """Scale weighted sums (keyed like the kind's counts, 'n' = Σw) to effective counts."""
    sum_w = float(weighted.get("n") or 0.0)
    n_eff = kish_effective_n(sum_w, sum_w2)
    scale = n_eff / sum_w if sum_w > 0 else 0.0
    return {k: float(v or 0.0) * scale for k, v in weighted.items()}


def family(keys: set[str] | frozenset[str]) -> tuple[str, ...] | None:
    """Return which family (share, NPS, mean) a kind's count names belong to, if any."""
    for fam in (NPS, MEAN, SHARE):
        if set(fam) <= keys:
            return fam
    return None


def weighted_estimate(
    eff: Mapping[str, float], confidence: float = 0.95, rescale: tuple[float, float] | None = None
) -> Estimate:
    """Return the value and interval from effective counts (see `effective_counts`).

    `Estimate.n` is the effective n rounded down: what the low-sample flag and the
    reports read. `rescale` (scale min, width) puts a mean on 0–100 like the mean kind.
    """
    n_eff = float(eff.get("n") or 0.0)
    if n_eff <= 0:
        return Estimate(None, 0, note="no weighted answers")
    fam = family(set(eff))
    n_shown = int(n_eff)
    if fam == NPS:
        p, d = eff["promoters"], eff["detractors"]
        ci = nps_interval(min(p, n_eff), min(d, n_eff), n_eff, confidence)
        return Estimate(100.0 * (p - d) / n_eff, n_shown, ci.low, ci.high)
    if fam == SHARE:
        k = min(eff["positive"], n_eff)
        wci = wilson_interval(k, n_eff, confidence)
        low = None if wci.low is None else 100.0 * wci.low
        high = None if wci.high is None else 100.0 * wci.high
        return Estimate(100.0 * k / n_eff, n_shown, low, high)
    if fam == MEAN:
        mean = eff["sum"] / n_eff
        mci = mean_interval(eff["sum"], eff["sum_sq"], n_eff, confidence)
        low, high = mci.low, mci.high
        if rescale is not None:
            lo, width = rescale
            mean = (mean - lo) / width * 100.0
            low = None if low is None else (low - lo) / width * 100.0
            high = None if high is None else (high - lo) / width * 100.0
        return Estimate(mean, n_shown, low, high)
    raise ValueError(f"no weighted estimate for counts {sorted(eff)}")
