"""What computing a spec produces: values per period × slice, and the values it excluded.

These types are shared by every module of the compute wing (engine, completion,
pooling, derived metrics), by the runner, the store and the gate. They live apart so
nothing in the compute wing has to import the engine to name a value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cxengine.interfaces import Estimate
from cxengine.spec.models import MetricSpec

#: Below this n a value is flagged low sample, unless the spec sets its own `min_n`.
DEFAULT_MIN_N = 30


@dataclass(frozen=True)
class MetricValue:
    """One computed value: a metric for one period and one slice."""

    metric: str
    grain: str
    period: date | None  # None: all periods together
    slice: dict[str, Any]  # {} : all slices together
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    low_sample: bool
    rows: int
    excluded: int
    counts: dict[str, float | int | None]
    note: str | None = None

    @property
    def slice_key(self) -> str:
        """Canonical JSON text of the slice (the storage key)."""
        return slice_key(self.slice)

    @classmethod
    def from_estimate(
        cls,
        spec: MetricSpec,
        est: Estimate,
        *,
        period: date | None,
        slice: dict[str, Any],
        counts: dict[str, Any],
        rows: int = 0,
        excluded: int = 0,
        grain: str | None = None,
    ) -> MetricValue:
        """Return the value of `spec` for one period and slice from its estimate."""
        return cls(
            metric=spec.name,
            grain=grain or spec.period,
            period=period,
            slice=slice,
            value=est.value,
            n=est.n,
            ci_low=est.ci_low,
            ci_high=est.ci_high,
            low_sample=is_low_sample(spec, est.n),
            rows=rows,
            excluded=excluded,
            counts=counts,
            note=est.note,
        )


def slice_key(slice_: dict[str, Any]) -> str:
    """Return the canonical JSON text of a slice (the storage key)."""
    return json.dumps(slice_, sort_keys=True, ensure_ascii=False, default=str)


def is_low_sample(spec: MetricSpec, n: int) -> bool:
    """Return True when n is below the spec's `min_n` (30 unless it says otherwise)."""
    return n < (spec.min_n or DEFAULT_MIN_N)


@dataclass
class ExcludedValue:
    """A value the spec excluded, before it is located and stored as a reject."""

    row: int
    field: str
    value: str | None
    reason: str


@dataclass
class SpecResult:
    """Everything one spec produced."""

    spec: MetricSpec
    values: list[MetricValue]
    excluded: list[ExcludedValue] = field(default_factory=list)
