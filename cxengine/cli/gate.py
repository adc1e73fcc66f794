"""The regression-gate options and steps shared by `cxengine run` and `cxengine compare`."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cxengine.errors import ConfigError, CxError

F = TypeVar("F", bound=Callable[..., Any])

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
ACTIONS_ENV = "GITHUB_ACTIONS"


def verdict_output_options(fn: F) -> F:
    """Add the options every command that prints verdicts shares."""
    options = [
        click.option(
            "--junit",
            "junit_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write the verdicts as JUnit XML (one test case per metric × slice).",
        ),
        click.option(
            "--markdown",
            "markdown_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write a Markdown summary (also appended to $GITHUB_STEP_SUMMARY when set).",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(["fail", "warn"]),
            default="fail",
            show_default=True,
            help="Exit 1 on failed checks only, or on warnings too.",
        ),
        click.option(
            "--correction",
            type=click.Choice(["holm", "bh", "none"]),
            default="holm",
            show_default=True,
            help="Multiple-testing correction: Holm (family-wise), Benjamini–Hochberg (FDR), none.",
        ),
        click.option(
            "--family",
            type=click.Choice(["run", "metric"]),
            default="run",
            show_default=True,
            help="Correct over all tests of the run, or over each metric's tests separately.",
        ),
    ]
    return functools.reduce(lambda f, opt: opt(f), reversed(options), fn)


def gate_options(fn: F) -> F:
    """Add the regression-gate options of `cxengine run`."""
    fn = verdict_output_options(fn)
    fn = click.option(
        "--baseline-run",
        "baseline_run",
        metavar="REF",
        help="Compare with a stored run: 'last', a tag (--tag) or a run id prefix.",
    )(fn)
    fn = click.option(
        "--baseline",
        "baseline_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Compare with a baseline file (`cxengine baseline save FILE`).",
    )(fn)
    return fn


def prepare_gate(state: Any, project: Any, gate: dict[str, Any]) -> Judge:
    """Load the baseline now (before this run is stored) and return the judge of the run."""
    from cxengine.compare import evaluate_run, load_baseline, read_run_at

    if gate.get("baseline_file") and gate.get("baseline_run"):
        raise ConfigError("give --baseline FILE or --baseline-run REF, not both")
    baseline = None
    if gate.get("baseline_file"):
        baseline = load_baseline(gate["baseline_file"])
        _check_baseline(baseline, state, project)
    elif gate.get("baseline_run"):
        baseline = read_run_at(project.database_path, gate["baseline_run"]).as_baseline()
    options = {
        "correction": gate["correction"],
        "family": gate["family"],
        "fail_on": gate["fail_on"],
    }
    return Judge(lambda result: evaluate_run(result, state.registry, baseline, **options))


def _check_baseline(baseline: Any, state: Any, project: Any) -> None:
    """Refuse (exit 2) a baseline whose entries the project's kinds cannot have produced."""
    from cxengine.compare.baseline_file import BaselineFileError, check_against_kinds
    from cxengine.runner import load_project_specs

    specs, _problems = load_project_specs(project, state.registry)
    by_name = {s.name: s.spec for s in specs}
    problems = check_against_kinds(baseline, by_name, state.registry.aggregations)
    if problems:
        raise BaselineFileError("\n".join(problems))


class Judge:
    """Judges a computed run; a comparison that fails keeps the run instead of losing it.

    The judge runs inside the run, before it is stored: an exception there used to
    mark a good run failed and drop its values. It is kept here instead and raised by
    `raise_if_failed` once the run is safely stored.
    """

    def __init__(self, judge: Callable[[Any], Any]):
        self.judge = judge
        self.error: Exception | None = None

    def __call__(self, result: Any) -> Any:
        try:
            return self.judge(result)
        except Exception as exc:  # the run is still good: store it, then report this
            self.error = exc
            return None

    def raise_if_failed(self, run_id: str, stored: bool) -> None:
        """Raise the comparison's error, saying the run itself was kept."""
        if self.error is None:
            return
        kept = f"run {run_id} is stored" if stored else f"run {run_id} was computed"
        what = str(self.error)
        if not isinstance(self.error, CxError):
            what = f"{type(self.error).__name__}: {what}"
        error = CxError(f"the comparison with the baseline failed: {what}; {kept}")
        if isinstance(self.error, CxError):
            error.exit_code = self.error.exit_code
        raise error from self.error


def finish_gate(
    state: Any,
    report: Any,
    gate: dict[str, Any],
    *,
    as_json: bool,
    color: bool,
    document: bool = False,
) -> str | None:
    """Print and write the verdicts; return the failure message when the build must fail.

    ``document``: stdout already holds one machine-readable document (``--format
    junit``, ``json``, ``markdown``…), so the verdict table goes to stderr, where a CI
    log still shows it, instead of being appended to that document.
    """
    if report is None or (not report.checks and not report.notes):
        return None
    reg = state.registry
    if not as_json:
        click.echo(
            reg.reporter("checks").render(report, color=color and not document),
            nl=False,
            err=document,
        )
    if gate.get("junit_path"):
        _write(gate["junit_path"], reg.reporter("junit").render(report))
    markdown = reg.reporter("markdown").render(report)
    if gate.get("markdown_path"):
        _write(gate["markdown_path"], markdown)
    summary = os.environ.get(STEP_SUMMARY_ENV)
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(markdown + "\n")
    if os.environ.get(ACTIONS_ENV) == "true":
        # Workflow commands are read from the step's output; with --json they go to
        # stderr so stdout stays one parseable document.
        click.echo(reg.reporter("github").render(report), nl=False, err=as_json or document)
    failing = report.failing()
    if not failing:
        return None
    names = "; ".join(f"{c.metric} [{c.slice_label}] {c.compared}" for c in failing[:5])
    more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
    what = "failed" if report.fail_on == "fail" else "failed or warned (--fail-on warn)"
    return f"{len(failing)} check{'s' if len(failing) != 1 else ''} {what}: {names}{more}"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(f"wrote {path}", err=True)


def stdout_color() -> bool:
    """Return True when verdicts on stdout may be coloured (a terminal, no NO_COLOR)."""
    import sys

    return sys.stdout.isatty() and "NO_COLOR" not in os.environ
