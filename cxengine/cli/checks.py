"""The regression gate on the command line: `run` options, `baseline`, `compare`.

Thin by design: options are parsed here, everything else is `cxengine.compare`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cxengine.cli.app import cli, echo_json, get_state, json_option
from cxengine.errors import CheckFailed, ConfigError, CxError

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
    state: Any, report: Any, gate: dict[str, Any], *, as_json: bool, color: bool
) -> str | None:
    """Print and write the verdicts; return the failure message when the build must fail."""
    if report is None or (not report.checks and not report.notes):
        return None
    reg = state.registry
    if not as_json:
        click.echo(reg.reporter("checks").render(report, color=color), nl=False)
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
        click.echo(reg.reporter("github").render(report), nl=False, err=as_json)
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


def _color() -> bool:
    import sys

    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


# ------------------------------------------------------------------------ baseline


@cli.group("baseline")
def baseline_group() -> None:
    """Save and show baseline files: the values CI compares each run with.

    \b
    Example:
        cxengine run && cxengine baseline save baseline.json && git add baseline.json
    """


@baseline_group.command("save")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--run", "run_ref", default="last", show_default=True,
    help="The stored run to take the values from: 'last', a tag or a run id prefix.",
)  # fmt: skip
@click.option("--metric", "-m", "metrics", multiple=True, help="Only this metric (repeatable).")
@click.option(
    "--totals-only", is_flag=True, help="Keep only the all-periods values (a smaller file)."
)
@click.pass_context
def baseline_save(
    ctx: click.Context, file: Path, run_ref: str, metrics: tuple[str, ...], totals_only: bool
) -> None:
    """Write a stored run's values, with n and raw counts, to a baseline file.

    The file is sorted JSON with one value per line, so it diffs well in review.

    \b
    Example:
        cxengine run --tag release-42
        cxengine baseline save baseline.json --run release-42
    """
    from cxengine.compare import read_run_at, save_baseline
    from cxengine.compare.baseline_file import baseline_from_points

    project = get_state(ctx).project()
    run = read_run_at(project.database_path, run_ref)
    points = [p for p in run.points if not metrics or p.metric in metrics]
    unknown = sorted(set(metrics) - {p.metric for p in run.points})
    if unknown:
        raise ConfigError(
            f"run {run.run_id} has no metric {', '.join(map(repr, unknown))}; "
            f"it has: {', '.join(sorted(run.metrics))}"
        )
    kept = {k: v for k, v in run.metrics.items() if not metrics or k in metrics}
    baseline = baseline_from_points(
        points, kept, run_id=run.run_id, source=str(file), totals_only=totals_only
    )
    save_baseline(baseline, file)
    count = f"{len(baseline.points)} values of {len(kept)} metrics"
    click.echo(f"wrote {count} from {run.describe()} to {file}")


@baseline_group.command("show")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--metric", "-m", "metrics", multiple=True, help="Only this metric (repeatable).")
@click.option("--periods", is_flag=True, help="Show every period, not only the all-periods values.")
@json_option
def baseline_show(file: Path, metrics: tuple[str, ...], periods: bool, as_json: bool) -> None:
    """Print the values of a baseline file.

    \b
    Example:
        cxengine baseline show baseline.json --metric nps
    """
    from cxengine.cli.usage import check_names
    from cxengine.compare import load_baseline
    from cxengine.compare.wording import num

    baseline = load_baseline(file)
    check_names("--metric", metrics, baseline.metrics, "metric")
    points = [
        p
        for p in baseline.points
        if (not metrics or p.metric in metrics) and (periods or p.period == "")
    ]
    if as_json:
        echo_json(
            {
                "file": str(file),
                "run_id": baseline.run_id,
                "metrics": {k: vars(v) for k, v in baseline.metrics.items()},
                "values": [
                    {"metric": p.metric, "period": p.period or None, "slice": p.slice,
                     "value": p.value, "n": p.n, "counts": p.counts}
                    for p in points
                ],
            }
        )  # fmt: skip
        return
    from cxengine.compare.points import slice_label

    click.echo(f"{file}: {len(baseline.points)} values from run {baseline.run_id or '?'}")
    rows = [
        [p.metric, p.period or "all", slice_label(p.slice), num(p.value), str(p.n)] for p in points
    ]
    head = ["metric", "period", "slice", "value", "n"]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    for r in [head, ["-" * w for w in widths], *rows]:
        cells = [
            c.rjust(w) if i >= 3 else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        click.echo("  ".join(cells).rstrip())


# ------------------------------------------------------------------------- compare


@cli.command("compare")
@click.argument("run_a")
@click.argument("run_b", default="last")
@click.option("--metric", "-m", "metrics", multiple=True, help="Only this metric (repeatable).")
@verdict_output_options
@json_option
@click.pass_context
def compare_command(
    ctx: click.Context,
    run_a: str,
    run_b: str,
    metrics: tuple[str, ...],
    as_json: bool,
    **gate: Any,
) -> None:
    """Judge stored run B against stored run A with the regression rules of B's specs.

    Runs are 'last', a tag or a run id prefix. Prints the same verdicts as
    `cxengine run --baseline-run A`; exit code 1 when a check fails.

    \b
    Examples:
        cxengine compare release-41 release-42
        cxengine compare release-41 last --junit checks.xml
    """
    from cxengine.compare import MetricData, evaluate, read_run_at
    from cxengine.compare.stored import stored_specs

    state = get_state(ctx)
    project = state.project()
    a = read_run_at(project.database_path, run_a)
    b = read_run_at(project.database_path, run_b)
    from cxengine.cli.usage import check_names

    check_names("--metric", metrics, b.metrics, "metric")
    specs = stored_specs(b, state.registry, metrics or None)
    data = [
        MetricData(
            spec, state.registry.aggregation(spec.kind), [p for p in b.points if p.metric == name]
        )
        for name, spec in specs.items()
    ]
    report = evaluate(
        data,
        a.as_baseline(),
        correction=gate["correction"],
        family=gate["family"],
        fail_on=gate["fail_on"],
        run_id=b.run_id,
        baseline_only=True,
    )
    if as_json:
        click.echo(state.registry.reporter("checks-json").render(report), nl=False)
    elif not report.checks:
        click.echo("no checks: no metric of run B has values in run A")
    failure = finish_gate(state, report, gate, as_json=as_json, color=_color())
    if failure:
        raise CheckFailed(failure)
