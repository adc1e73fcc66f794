"""The terminal summary of a run: one line per metric, then the datasets, then where.

What `cxengine run` prints by default. The full table of every period and slice is
`cxengine run --detail` (or `cxengine show --period all`).
"""

from __future__ import annotations

from collections.abc import Callable

import click

from cxengine.compare.points import slice_label
from cxengine.compare.wording import with_unit
from cxengine.report.data import RunData
from cxengine.report.headline import Headline, headline, interval_text

COLUMNS = ("metric", "period", "value", "CI", "n", "vs previous period", "flags")


def metric_lines(data: RunData, *, color: bool = False) -> list[str]:
    """Return the header and one line per metric of the run."""
    heads = [headline(m, data.finished) for m in data.metrics.values()]
    confidence = {round(h.metric.confidence * 100) for h in heads}
    ci = f"{confidence.pop()}% CI" if len(confidence) == 1 else "CI"
    columns = [*COLUMNS[:3], ci, *COLUMNS[4:]]
    rows = [_row(h) for h in heads]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    right = {2, 4}  # value and n

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    style: Callable[..., str] = click.style if color else (lambda s, **_: s)
    out = [style(line(columns), bold=True), line(["-" * w for w in widths])]
    for h, cells in zip(heads, rows, strict=True):
        text = line(cells)
        if h.target and h.target[0] == "fail":
            text = style(text, fg="red")
        elif h.low_sample:
            text = style(text, dim=True)
        out.append(text)
    return out


def _row(h: Headline) -> list[str]:
    p = h.point
    if p is None:
        return [h.metric.name, h.period_label, "—", "", "0", "", "no values"]
    value = with_unit(p.value, h.metric.unit)
    if h.category is not None:
        value = f"{h.category} {value}"
    flags: list[str] = []
    if h.partial:
        flags.append("partial period")
    if h.low_sample:
        flags.append(f"low n (<{h.metric.min_n})")
    if h.target and h.target[0] in ("warn", "fail"):
        flags.append(f"target {h.target[0]}: {h.target[1]}")
    if h.misses:
        first = h.misses[0]
        more = f" (+{len(h.misses) - 1} more)" if len(h.misses) > 1 else ""
        flags.append(f"target {first.verdict}: {_short(first.slice)} {first.reason}{more}")
    if p.value is None and p.note:
        flags.append(p.note)
    return [
        h.metric.name,
        h.period_label,
        value,
        interval_text(p),
        f"{p.n:,}",
        h.change_text(),
        "; ".join(flags),
    ]


def _short(slice_: dict[str, object]) -> str:
    if len(slice_) == 1:
        value = next(iter(slice_.values()))
        return "(empty)" if value is None else str(value)
    return slice_label(slice_)


def dataset_lines(data: RunData) -> list[str]:
    """'responses: 4,000 rows read, 3,993 used, 7 rejected (data/responses.csv)'."""
    out = []
    for name, d in sorted(data.datasets.items()):
        out.append(
            f"{name}: {int(d.get('read') or 0):,} rows read, {int(d.get('used') or 0):,} used, "
            f"{int(d.get('rejected') or 0):,} rejected ({d.get('origin', '')})"
        )
    excluded = sum(data.excluded_by_metric.values())
    if excluded:
        out.append(
            f"{excluded:,} values excluded from metrics (out of scale or unusable): "
            + ", ".join(f"{m} {c:,}" for m, c in sorted(data.excluded_by_metric.items()))
        )
    return out


def legend(data: RunData) -> str:
    """The line that says how to read the table (one line, under 100 characters)."""
    return "* significant change · every period and slice: --detail · HTML: cxengine report"


def summary_text(data: RunData, *, color: bool = False) -> str:
    """The whole metric block of the summary (stdout of `cxengine run`)."""
    if not data.metrics:
        return "No metric values.\n"
    lines = metric_lines(data, color=color)
    return "\n".join([*lines, legend(data)]) + "\n"
