"""`table`: the readable terminal report of a run, grouped by metric."""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from typing import Any

import click

from cxengine import hookimpl
from cxengine.compare.wording import fixed
from cxengine.compute.periods import label
from cxengine.textsafe import visible


def fmt_number(x: float | None, digits: int = 1) -> str:
    """Format a value for people: fixed decimals, '—' for empty."""
    return "—" if x is None else fixed(x, digits)


class TableReporter:
    """Values with intervals, one block per metric, low samples flagged."""

    name = "table"
    description = "Readable table grouped by metric (colour only on a terminal)."

    def render(self, result: Any, *, color: bool = False) -> str:
        out: list[str] = []
        for metric, values in groupby(result.values, key=lambda v: v.metric):
            spec = result.spec(metric).spec
            vals = list(values)
            # Values know their grain and slice keys: a formula takes both from its
            # inputs, a distribution adds its category to the slice.
            grain = vals[0].grain if vals else spec.period
            by = list(spec.by)
            for v in vals:
                by += [k for k in v.slice if k not in by]
            head = visible(f"{spec.title or metric} [{metric}: {spec.kind}")
            head += f", {spec.unit}]" if spec.unit else "]"
            out.append(click.style(head, bold=True) if color else head)
            confidence = round((spec.confidence or 0.95) * 100)
            columns = (
                (["period"] if grain != "none" else [])
                + by
                + ["value", f"{confidence}% CI", "n", "flags"]
            )
            rows = []
            for v in vals:
                row = [label(grain, v.period)] if grain != "none" else []
                row += [_slice_cell(v.slice, b) for b in by]
                ci = (
                    "" if v.ci_low is None else f"[{fmt_number(v.ci_low)}, {fmt_number(v.ci_high)}]"
                )
                flags = []
                if v.low_sample:
                    flags.append(f"low n (<{spec.min_n})")
                if v.excluded:
                    flags.append(f"{v.excluded} excluded")
                if v.note and (v.value is None or v.ci_low is None or v.ci_high is None):
                    flags.append(v.note)
                row += [fmt_number(v.value), ci, str(v.n), ", ".join(flags)]
                # Slice values and notes come from data: never raw escapes on a terminal.
                rows.append(([visible(cell) for cell in row], v.low_sample))
            out.extend(_grid([visible(c) for c in columns], rows, color))
            out.append("")
        return "\n".join(out) + ("\n" if out else "No metric values.\n")


def _slice_cell(slice_: dict[str, Any], field: str) -> str:
    if not slice_:
        return "(all)"
    value = slice_.get(field)
    return "(empty)" if value is None else str(value)


def _grid(columns: list[str], rows: list[tuple[list[str], bool]], color: bool) -> list[str]:
    widths = [
        max(len(c), *(len(r[i]) for r, _ in rows)) if rows else len(c)
        for i, c in enumerate(columns)
    ]
    numeric = {"value", "n"}
    dim: Callable[[str], str] = (lambda s: click.style(s, dim=True)) if color else (lambda s: s)

    def line(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if columns[i] in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    out = [line(columns), line(["-" * w for w in widths])]
    for cells, low in rows:
        text = line(cells)
        out.append(dim(text) if low else text)
    return out


@hookimpl
def register_reporters(register: Callable[..., None]) -> None:
    register(TableReporter())
