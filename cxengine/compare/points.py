"""The values a comparison works on: one metric × period × slice with its raw counts.

A `Point` is the common shape of a value from the current run (a `MetricValue`), a
stored run (a `metric_values` row) and a baseline file entry, so the statistics never
care where a number came from. Comparisons always use the raw counts, never the
rounded value, so a baseline file loses nothing a test needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cxengine.textsafe import visible

if TYPE_CHECKING:
    from cxengine.compute.values import MetricValue

Counts = dict[str, float | int | None]


def slice_key(slice_: Mapping[str, Any]) -> str:
    """Return the canonical JSON text of a slice (the same key the store uses)."""
    return json.dumps(dict(slice_), sort_keys=True, ensure_ascii=False, default=str)


def slice_label(slice_: Mapping[str, Any]) -> str:
    """Return a slice for people: 'touchpoint=delivery, channel=phone' or '(all)'.

    Control and bidi characters of the values (customers' data) are shown as escapes
    (`\\x1b`), so every place that prints a slice label is safe to print.
    """
    if not slice_:
        return "(all)"
    return visible(
        ", ".join(f"{k}={'(empty)' if v is None else v}" for k, v in sorted(slice_.items()))
    )


@dataclass(frozen=True)
class Point:
    """One value of a metric for one period (ISO start date, '' for all) and one slice."""

    metric: str
    period: str
    slice: dict[str, Any]
    value: float | None
    n: int
    counts: Counts = field(default_factory=dict)

    @property
    def slice_key(self) -> str:
        """Canonical JSON of the slice."""
        return slice_key(self.slice)

    @property
    def key(self) -> tuple[str, str, str]:
        """(metric, period, slice key): how points are matched across runs."""
        return (self.metric, self.period, self.slice_key)

    @classmethod
    def from_value(cls, v: MetricValue) -> Point:
        """Build a point from a value computed in this process."""
        return cls(
            v.metric, v.period.isoformat() if v.period else "", dict(v.slice), v.value, v.n,
            dict(v.counts),
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Point:
        """Build a point from a `metric_values` row of the results database."""
        counts = row.get("counts") or "{}"
        return cls(
            str(row["metric"]),
            str(row.get("period") or ""),
            json.loads(row["slice"]) if isinstance(row["slice"], str) else dict(row["slice"]),
            None if row.get("value") is None else float(row["value"]),
            int(row.get("n") or 0),
            json.loads(counts) if isinstance(counts, str) else dict(counts),
        )


@dataclass(frozen=True)
class MetricInfo:
    """What a baseline remembers about a metric besides its values."""

    kind: str
    unit: str | None = None
    grain: str = "none"


@dataclass
class Baseline:
    """Values to compare against, from a baseline file or a stored run."""

    source: str  # for people: "baseline.json", "run 3f2a… (tag release-41)"
    points: list[Point]
    metrics: dict[str, MetricInfo] = field(default_factory=dict)
    run_id: str | None = None
    #: Where each point was read ("baseline.json:12: values[7]"), for located problems.
    where: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {p.key: p for p in self.points}

    def get(self, metric: str, period: str, slice_: str) -> Point | None:
        """Return the baseline point for a metric, period and slice key, if any."""
        return self._index.get((metric, period, slice_))

    def has_metric(self, metric: str) -> bool:
        """Return True when the baseline holds any value of the metric."""
        return any(p.metric == metric for p in self.points)

    def for_metrics(self, names: Iterable[str]) -> Baseline:
        """Return a copy holding only the named metrics."""
        keep = set(names)
        return Baseline(
            self.source,
            [p for p in self.points if p.metric in keep],
            {k: v for k, v in self.metrics.items() if k in keep},
            self.run_id,
        )
