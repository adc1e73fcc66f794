"""All-periods values of per-period rates, pooled from the periods' own counts.

A calendar kind such as churn counts customers against each period's window. Its
whole-range window is not a useful "all periods" value: it starts where the data
starts, so nobody is a customer at its start. A kind that says ``pool_periods =
True`` (a `PooledKind`) gets, instead, for every slice, the estimate of the **summed counts of its
periods**: churn over all periods is Σ lost / Σ S — the average churn per period,
weighted by the customers at risk, which is also the maximum-likelihood estimate
of a constant per-period churn (the likelihood is a product of one Bernoulli trial
per customer and period, so the Wilson interval on the sums is its interval). It is
recomputed from raw counts, never the mean of the period rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cxengine.compute.values import MetricValue, is_low_sample
from cxengine.interfaces import Estimate, Kind
from cxengine.spec.models import MetricSpec


def pool_periods(spec: MetricSpec, kind: Kind, values: Sequence[MetricValue]) -> list[MetricValue]:
    """Replace each slice's all-periods value by the estimate of its periods' summed counts."""
    by_slice: dict[str, list[MetricValue]] = {}
    for v in values:
        if v.period is not None:
            by_slice.setdefault(v.slice_key, []).append(v)
    out = [v for v in values if v.period is not None]
    for v in values:
        if v.period is not None:
            continue
        periods = by_slice.get(v.slice_key, [])
        keys = sorted({k for p in periods for k, c in p.counts.items() if _number(c)})
        summed: dict[str, float | int | None] = {
            k: sum(p.counts.get(k) or 0 for p in periods) for k in keys
        }
        est = kind.estimate(spec, summed)
        assert isinstance(est, Estimate)
        note = est.note
        if note is None:
            note = f"pooled over {len(periods)} periods: the average rate per {spec.period}"
        out.append(
            replace(
                v,
                value=est.value,
                n=est.n,
                ci_low=est.ci_low,
                ci_high=est.ci_high,
                low_sample=is_low_sample(spec, est.n),
                counts=summed,
                note=note,
            )
        )
    return out


def _number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)
