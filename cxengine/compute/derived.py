"""Derived metrics: values computed from other metrics' values, period by period.

A derived kind (``formula``) names the metrics it uses; for every period × slice
that any of them has, the kind combines their values. The runner orders specs so
the inputs are always computed first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from cxengine.compute.engine import MetricValue, SpecResult
from cxengine.interfaces import Aggregation
from cxengine.spec.models import MetricSpec


def compute_derived(
    spec: MetricSpec, aggregation: Aggregation, computed: Sequence[SpecResult]
) -> SpecResult:
    """Combine the values of the metrics `spec` depends on, for each period and slice."""
    deps: list[str] = list(aggregation.depends_on(spec))  # type: ignore[attr-defined]
    index: dict[str, dict[tuple[Any, str], MetricValue]] = {}
    for result in computed:
        if result.spec.name in deps:
            index[result.spec.name] = {(v.period, v.slice_key): v for v in result.values}
    keys: dict[tuple[Any, str], MetricValue] = {}
    for name in deps:
        for key, v in index.get(name, {}).items():
            keys.setdefault(key, v)
    values = []
    # The engine's order: all periods first, then each period; the overall slice first.
    for key, sample in sorted(
        keys.items(),
        key=lambda kv: (kv[0][0] is not None, kv[0][0] or date.min, kv[0][1] != "{}", kv[0][1]),
    ):
        inputs = {name: index.get(name, {}).get(key) for name in deps}
        est = aggregation.combine(spec, inputs)  # type: ignore[attr-defined]
        values.append(
            MetricValue.from_estimate(
                spec,
                est,
                period=sample.period,
                slice=sample.slice,
                counts=_counts(spec, aggregation, inputs),
                grain=sample.grain,
            )
        )
    return SpecResult(spec, values)


def _counts(
    spec: MetricSpec, aggregation: Aggregation, inputs: dict[str, MetricValue | None]
) -> dict[str, float | int | None]:
    """Return what is stored as the derived value's counts: the inputs' values by default.

    A kind may store more with ``derived_counts(spec, inputs)`` (a formula keeps each
    input's standard error, which its significance test needs).
    """
    own = getattr(aggregation, "derived_counts", None)
    if own is not None:
        return dict(own(spec, inputs))
    return {name: (v.value if v else None) for name, v in inputs.items()}
