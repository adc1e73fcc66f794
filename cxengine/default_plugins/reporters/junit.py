"""`junit`: the regression gate's verdicts as JUnit XML, for CI test-report viewers.

One `<testsuite>` per metric and one `<testcase>` per metric × slice × period
compared. A `fail` verdict (and a `warn` under `--fail-on warn`) is a `<failure>` with
the one-line reason as its message; `inconclusive` is `<skipped>`; a `warn` that does
not fail the build passes with the warning in `<system-out>`. The layout follows the
JUnit XML that GitLab, Jenkins (junit-10.xsd) and GitHub test-report actions read:
`testsuites` › `testsuite` (`name`, `tests`, `failures`, `errors`, `skipped`, `time`) ›
`properties`, `testcase` (`name`, `classname`, `time`) › `failure` / `skipped` (`message`,
`type`), then `system-out`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from itertools import groupby
from typing import Any

from cxengine import hookimpl
from cxengine.compare.report import Check, CheckReport, report_of
from cxengine.compare.wording import num, pval, signed
from cxengine.textsafe import visible


def _details(c: Check) -> str:
    lines = [
        f"verdict: {c.verdict}",
        f"reason: {c.reason}",
        f"current: {num(c.current_value, 2)} (n={c.current_n})",
        f"baseline: {num(c.baseline_value, 2)} (n={'—' if c.baseline_n is None else c.baseline_n})",
        f"change: {signed(c.change, c.unit, 2)}",
        f"p-value (one-sided): {pval(c.p_value)}; adjusted: {pval(c.p_adjusted)}",
    ]
    if c.method:
        lines.append(f"test: {c.method}")
    if c.max_drop is not None:
        lines.append(f"rule: max_drop {c.max_drop:g}, confidence {c.confidence:g}, {c.direction}")
    return "\n".join(lines) + "\n"


def render_junit(report: CheckReport) -> str:
    """Return the JUnit XML document of a check report."""
    failing = {id(c) for c in report.failing()}
    root = ET.Element("testsuites", name="cxengine regression gate")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for metric, group in groupby(report.checks, key=lambda c: c.metric):
        checks = list(group)
        failures = sum(1 for c in checks if id(c) in failing)
        skipped = sum(1 for c in checks if c.verdict == "inconclusive")
        suite = ET.SubElement(
            root,
            "testsuite",
            name=metric,
            tests=str(len(checks)),
            failures=str(failures),
            errors="0",
            skipped=str(skipped),
            time="0",
        )
        props = ET.SubElement(suite, "properties")
        for key, value in (
            ("title", checks[0].title or metric),
            ("baseline", report.baseline or "none"),
            ("run_id", report.run_id or ""),
            ("correction", report.correction_note()),
            ("fail_on", report.fail_on),
        ):
            ET.SubElement(props, "property", name=key, value=value)
        for c in checks:
            case = ET.SubElement(
                suite, "testcase", name=c.name, classname=f"cxengine.{metric}", time="0"
            )
            if id(c) in failing:
                rule = "regression" if c.regression_verdict == c.verdict else "target"
                failure = ET.SubElement(
                    case, "failure", message=c.reason, type=f"{rule}-{c.verdict}"
                )
                failure.text = _details(c)
            elif c.verdict == "inconclusive":
                ET.SubElement(case, "skipped", message=c.reason, type="inconclusive")
            out = ET.SubElement(case, "system-out")
            out.text = _details(c)
        totals["tests"] += len(checks)
        totals["failures"] += failures
        totals["skipped"] += skipped
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("skipped", str(totals["skipped"]))
    root.set("time", "0")
    for element in root.iter():
        # XML 1.0 cannot hold most control characters, not even as &#27;: a slice value
        # with ESC or a vertical tab would make the whole report unreadable.
        element.attrib = {k: visible(v) for k, v in element.attrib.items()}
        if element.text:
            element.text = visible(element.text, keep="\n")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


class JunitReporter:
    """Verdicts as JUnit XML (`cxengine run --junit FILE`)."""

    name = "junit"
    description = "Regression-gate verdicts as JUnit XML: one test case per metric × slice."

    def render(self, result: Any, *, color: bool = False) -> str:
        report = report_of(result)
        return render_junit(report if report is not None else CheckReport([]))


@hookimpl
def register_reporters(register: Callable[..., None]) -> None:
    register(JunitReporter())
