"""`checks`: the regression gate's verdicts on a terminal, grouped by metric.

Colour (red fail, yellow warn, blue inconclusive, green pass) only when asked for,
which the CLI does only when stdout is a terminal and NO_COLOR is unset.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import groupby
from typing import Any

import click

from cxengine import hookimpl
from cxengine.compare.report import CheckReport, report_of
from cxengine.compare.wording import pval, signed, with_unit
from cxengine.textsafe import visible

COLOURS = {"fail": "red", "warn": "yellow", "inconclusive": "blue", "pass": "green"}
COLUMNS = ("verdict", "slice", "baseline", "current", "change", "p adj.", "reason")


def render_checks(report: CheckReport, *, color: bool = False) -> str:
    """Return the verdict table, one block per metric, and a summary line."""
    out: list[str] = []
    for metric, group in groupby(report.checks, key=lambda c: c.metric):
        checks = list(group)
        first = checks[0]
        head = visible(f"{first.title or metric} [{metric}] — {first.compared}")
        if first.max_drop is not None:
            head += f", max_drop {first.max_drop:g}, confidence {first.confidence:g}"
        out.append(click.style(head, bold=True) if color else head)
        rows = [
            (
                c.verdict,
                [
                    c.verdict,
                    c.slice_label,
                    "—"
                    if c.baseline_value is None
                    else f"{with_unit(c.baseline_value, c.unit)} (n={c.baseline_n})",
                    "—"
                    if c.current_value is None
                    else f"{with_unit(c.current_value, c.unit)} (n={c.current_n})",
                    signed(c.change, c.unit),
                    pval(c.p_adjusted).removeprefix("p=") if c.p_adjusted is not None else "—",
                    c.reason,
                ],
            )
            for c in checks
        ]
        rows = [(verdict, [visible(cell) for cell in cells]) for verdict, cells in rows]
        widths = [max(len(h), *(len(r[i]) for _, r in rows)) for i, h in enumerate(COLUMNS[:-1])]

        out.append(_line(list(COLUMNS), widths))
        for verdict, cells in rows:
            text = _line(cells, widths)
            if color:
                text = (
                    click.style(cells[0].ljust(widths[0]), fg=COLOURS[verdict]) + text[widths[0] :]
                )
            out.append(text)
        out.append("")
    base = f"baseline: {report.baseline}" if report.baseline else "no baseline (targets only)"
    summary = f"checks: {report.summary()} — {base}; {report.correction_note()}"
    if color:
        summary = click.style(summary, fg="red" if not report.ok else "green", bold=True)
    out.append(summary)
    out.extend(f"note: {visible(n)}" for n in report.notes)
    return "\n".join(out) + "\n"


def _line(cells: list[str], widths: list[int]) -> str:
    padded = [c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True)]
    return "  ".join([*padded, cells[-1]]).rstrip()


class ChecksReporter:
    """Verdicts for people on a terminal."""

    name = "checks"
    description = "Regression-gate verdicts grouped by metric (colour only on a terminal)."

    def render(self, result: Any, *, color: bool = False) -> str:
        report = report_of(result)
        return render_checks(report, color=color) if report is not None else ""


class ChecksJsonReporter:
    """Verdicts as JSON (`cxengine compare --json`)."""

    name = "checks-json"
    description = "Regression-gate verdicts as one JSON document."

    def render(self, result: Any, *, color: bool = False) -> str:
        report = report_of(result)
        doc = report.to_json() if report is not None else {}
        return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"


@hookimpl
def register_reporters(register: Callable[..., None]) -> None:
    register(ChecksReporter())
    register(ChecksJsonReporter())
