"""`markdown`: the regression gate's verdicts as a Markdown summary (GitHub step summary).

Problems first: failures, warnings and inconclusive checks each get a row with the
baseline, current value, change, adjusted p-value and reason; passing checks are
folded into a `<details>` block so a green build stays short.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cxengine import hookimpl
from cxengine.compare.report import SEVERITY, Check, CheckReport, report_of
from cxengine.compare.wording import num, pval, signed
from cxengine.textsafe import visible

ICONS = {"fail": "❌ fail", "warn": "⚠️ warn", "inconclusive": "❔ inconclusive", "pass": "✅ pass"}
COLUMNS = (
    "verdict",
    "metric",
    "slice",
    "compared",
    "baseline",
    "current",
    "change",
    "p (adj.)",
    "reason",
)


# Slice values come from customers' data and the summary is rendered as GitHub-
# flavoured Markdown, which also renders inline HTML and links: a slice value
# `<img src=…>` or `[click](https://…)` would show as an image or a link in a PR's step
# summary. HTML is written as entities and the punctuation that makes emphasis, code,
# links and images, table cells or strike-through is backslash-escaped (an escaped
# "[" is enough to stop a link or an image), so a cell shows exactly its text.
_MARKDOWN_SPECIAL = str.maketrans(
    {c: "\\" + c for c in "\\`*_[]|~"} | {"&": "&amp;", "<": "&lt;", "\n": " "}
)


def _cell(text: str) -> str:
    return visible(text.translate(_MARKDOWN_SPECIAL))


def _value(v: float | None, n: int | None) -> str:
    return "—" if v is None else f"{num(v)} (n={n})"


def _row(c: Check) -> str:
    cells = (
        ICONS[c.verdict],
        c.title or c.metric,
        c.slice_label,
        c.compared,
        _value(c.baseline_value, c.baseline_n),
        _value(c.current_value, c.current_n),
        signed(c.change, c.unit),
        pval(c.p_adjusted).removeprefix("p=") if c.p_adjusted is not None else "—",
        c.reason,
    )
    return "| " + " | ".join(_cell(x) for x in cells) + " |"


def _table(checks: list[Check]) -> list[str]:
    return [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *(_row(c) for c in checks),
    ]


def render_markdown(report: CheckReport) -> str:
    """Return the Markdown summary of a check report."""
    failing = report.failing()
    if failing:
        plural = "s" if len(failing) != 1 else ""
        head = f"## ❌ cxengine regression gate: {len(failing)} check{plural} failed"
    else:
        head = "## ✅ cxengine regression gate: passed"
    lines = [head, ""]
    lines.append(
        f"{report.summary()}. Baseline: {report.baseline or 'none (targets only)'}. "
        f"{report.correction_note().capitalize()}. Fails the build on: {report.fail_on}."
    )
    lines.append("")
    problems = sorted(
        (c for c in report.checks if c.verdict != "pass"),
        key=lambda c: (-SEVERITY[c.verdict], c.metric, c.slice_key),
    )
    if problems:
        lines.extend(_table(problems))
        lines.append("")
    passed = [c for c in report.checks if c.verdict == "pass"]
    if passed:
        lines.append(f"<details><summary>{len(passed)} passing checks</summary>")
        lines.append("")
        lines.extend(_table(passed))
        lines.append("")
        lines.append("</details>")
        lines.append("")
    for note in report.notes:
        lines.append(f"- {note}")
    if report.notes:
        lines.append("")
    # Notes and names carry data too: no raw control character reaches the summary.
    return visible("\n".join(lines), keep="\n")


class MarkdownReporter:
    """Verdicts as Markdown (`--markdown FILE`, `$GITHUB_STEP_SUMMARY`)."""

    name = "markdown"
    description = "Regression-gate verdicts as a Markdown summary, problems first."

    def render(self, result: Any, *, color: bool = False) -> str:
        report = report_of(result)
        return render_markdown(report if report is not None else CheckReport([]))


@hookimpl
def register_reporters(register: Callable[..., None]) -> None:
    register(MarkdownReporter())
