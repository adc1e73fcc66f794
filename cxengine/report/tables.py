"""Plain-text tables of stored values for the terminal (`cxengine show`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cxengine.compare.wording import with_unit
from cxengine.compute.periods import label
from cxengine.report.data import MetricData, RunData, Value
from cxengine.report.headline import interval_text
from cxengine.textsafe import visible


def values_table(data: RunData, picked: Sequence[tuple[MetricData, Value]]) -> str:
    """One row per value: metric, period, a column per slice field, value with its
    unit, the interval, n and flags; every column has a header."""
    fields = sorted({k for _, v in picked for k in v.slice})
    confidence = {round(m.confidence * 100) for m, _ in picked}
    ci = f"{confidence.pop()}% CI" if len(confidence) == 1 else "CI"
    columns = ["metric", "period", *fields, "value", ci, "n", "flags"]
    rows = []
    for m, v in picked:
        period = label(m.grain, date.fromisoformat(v.period)) if v.period else "all"
        flags = []
        if v.low_sample:
            flags.append(f"low n (<{m.min_n})")
        if v.excluded:
            flags.append(f"{v.excluded:,} excluded")
        if v.note and (v.value is None or v.ci_low is None or v.ci_high is None):
            flags.append(v.note)
        own = {*m.by, m.category_key}
        slices = [
            ("(empty)" if v.slice[k] is None else str(v.slice[k]))
            if k in v.slice
            else "(all)"
            if k in own
            else ""
            for k in fields
        ]
        rows.append(
            [m.name, period, *slices, with_unit(v.value, m.unit), interval_text(v),
             f"{v.n:,}", ", ".join(flags)]
        )  # fmt: skip
    # Slice values and notes come from users' data: a raw ESC would drive the terminal.
    rows = [[visible(cell) for cell in row] for row in rows]
    columns = [visible(c) for c in columns]
    right = {len(fields) + 2, len(fields) + 4}
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, rows)])
