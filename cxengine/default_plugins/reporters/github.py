"""`github`: GitHub Actions workflow commands, one annotation per failing or warning check.

`::error title=…::message` for a check that fails the build, `::warning …` for the
other warnings; GitHub shows them on the run's summary page. Values are escaped as
the runner expects (`%`, CR and LF in messages; also `:` and `,` in properties).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cxengine import hookimpl
from cxengine.compare.report import CheckReport, report_of
from cxengine.textsafe import visible


def escape_data(text: str) -> str:
    """Escape a workflow-command message (control characters shown, not sent)."""
    text = visible(text, keep="\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value (title=…)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_annotations(report: CheckReport) -> str:
    """Return one workflow command per check that fails or warns."""
    failing = {id(c) for c in report.failing()}
    lines = []
    for c in report.checks:
        if id(c) in failing:
            command = "error"
        elif c.verdict == "warn":
            command = "warning"
        else:
            continue
        title = escape_property(f"cxengine {c.verdict}: {c.metric} [{c.slice_label}]")
        lines.append(f"::{command} title={title}::{escape_data(c.compared + ': ' + c.reason)}")
    return "".join(line + "\n" for line in lines)


class GithubReporter:
    """Verdicts as GitHub Actions annotations (automatic when GITHUB_ACTIONS is set)."""

    name = "github"
    description = "Regression-gate failures and warnings as GitHub Actions annotations."

    def render(self, result: Any, *, color: bool = False) -> str:
        report = report_of(result)
        return render_annotations(report) if report is not None else ""


@hookimpl
def register_reporters(register: Callable[..., None]) -> None:
    register(GithubReporter())
