"""One flat row per stored value: what `export` writes and `show` prints.

metric, title, unit, kind, grain, period (a date; None for all periods), one column
per slice field, value, ci_low, ci_high, n, low_sample, excluded, note, then the raw
counts as `count_<name>` columns, so a spreadsheet can recompute any value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cxengine.compute.periods import label
from cxengine.report.data import MetricData, RunData, Value
from cxengine.store.value_rows import column_names

LEADING = ("metric", "title", "unit", "kind", "grain", "period", "period_label")
TRAILING = ("value", "ci_low", "ci_high", "n", "low_sample", "excluded", "note")
#: Column types, for writers that need them (xlsx, parquet); slice columns are text.
TYPES: dict[str, str] = {
    "metric": "text", "title": "text", "unit": "text", "kind": "text", "grain": "text",
    "period": "date", "period_label": "text", "value": "number", "ci_low": "number",
    "ci_high": "number", "n": "integer", "low_sample": "boolean", "excluded": "integer",
    "note": "text",
}  # fmt: skip


@dataclass
class FlatTable:
    """Rows of the same columns; `slice_columns` maps slice field → column name."""

    columns: list[str]
    rows: list[dict[str, Any]]
    slice_columns: dict[str, str]
    count_columns: list[str]

    def type_of(self, column: str) -> str:
        """text, date, number, integer or boolean."""
        if column in self.count_columns:
            return "number"
        return TYPES.get(column, "text")


def flat_table(
    data: RunData, values: Iterable[tuple[MetricData, Value]] | None = None
) -> FlatTable:
    """Return the values (default: all of the run) as one flat table."""
    pairs = (
        list(values)
        if values is not None
        else [(m, v) for m in data.metrics.values() for v in m.points]
    )
    fields = sorted({k for _, v in pairs for k in v.slice})
    names = dict(zip(fields, column_names(fields), strict=True))
    counts = sorted({k for _, v in pairs for k in v.counts if _number(v.counts[k])})
    count_columns = [f"count_{k}" for k in counts]
    columns = [*LEADING, *names.values(), *TRAILING, *count_columns]
    rows = []
    for m, v in pairs:
        start = date.fromisoformat(v.period) if v.period else None
        row: dict[str, Any] = {
            "metric": m.name,
            "title": m.title,
            "unit": m.unit,
            "kind": m.kind,
            "grain": m.grain,
            "period": start,
            "period_label": label(m.grain, start) if start else "all",
        }
        for f, col in names.items():
            row[col] = None if f not in v.slice or v.slice[f] is None else str(v.slice[f])
        row.update(
            value=v.value, ci_low=v.ci_low, ci_high=v.ci_high, n=v.n,
            low_sample=v.low_sample, excluded=v.excluded, note=v.note,
        )  # fmt: skip
        for k in counts:
            x = v.counts.get(k)
            row[f"count_{k}"] = x if _number(x) else None
        rows.append(row)
    return FlatTable(columns, rows, names, count_columns)


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def select(
    data: RunData,
    *,
    period: str = "latest",
    by: Sequence[str] = (),
) -> list[tuple[MetricData, Value]]:
    """Pick values: `period` latest (each metric's headline period), all, or a period
    ('2025-03', '2025-Q1', '2025-03-01'); `by`: only values sliced by exactly these
    fields (none: every slice, the overall value included)."""
    from cxengine.report.headline import headline

    out: list[tuple[MetricData, Value]] = []
    for m in data.metrics.values():
        if period == "latest":
            wanted = {headline(m, data.finished).period}
        elif period == "all":
            wanted = None
        else:
            wanted = {
                p for p in m.periods() if period in (p, label(m.grain, date.fromisoformat(p)))
            }
        # Per metric: period by period, the overall value before its slices.
        for v in sorted(m.points, key=lambda v: (v.period, bool(v.slice), v.slice_key)):
            if wanted is not None and v.period not in wanted:
                continue
            if by and set(m.slice_fields(v)) != set(by):
                continue
            out.append((m, v))
    return out
