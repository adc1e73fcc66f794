"""Derived metrics: values computed from other metrics' values, period by period.

A derived kind (``formula``) names the metrics it uses; for every period × slice
that any of them has, the kind combines their values. The runner orders specs so
the inputs are always computed first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from cxengine.compute.values import MetricValue, SpecResult
from cxengine.interfaces import DerivedCounts, DerivedKind, Kind
from cxengine.spec.models import MetricSpec


def compute_derived(spec: MetricSpec, kind: Kind, computed: Sequence[SpecResult]) -> SpecResult:
    """Combine the values of the metrics `spec` depends on, for each period and slice."""
    if not isinstance(kind, DerivedKind):
        raise TypeError(f"kind {kind.name!r} is not derived (no depends_on and combine)")
    deps: list[str] = list(kind.depends_on(spec))
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
        est = kind.combine(spec, inputs)
        values.append(
            MetricValue.from_estimate(
                spec,
                est,
                period=sample.period,
                slice=sample.slice,
                counts=_counts(spec, kind, inputs),
                grain=sample.grain,
            )
        )
    return SpecResult(spec, values)


def _counts(
    spec: MetricSpec, kind: Kind, inputs: dict[str, MetricValue | None]
) -> dict[str, float | int | None]:
    """Return what is stored as the derived value's counts: the inputs' values by default.

    A `DerivedCounts` kind stores more (a formula keeps each input's standard error,
    which its significance test needs).
    """
    if isinstance(kind, DerivedCounts):
        return dict(kind.derived_counts(spec, inputs))
    return {name: (v.value if v else None) for name, v in inputs.items()}
