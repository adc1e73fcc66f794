"""The regression gate on the command line: `run` options, `baseline`, `compare`.

Thin by design: options are parsed here, everything else is `cxengine.compare`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cxengine.cli.gate import finish_gate, stdout_color, verdict_output_options
from cxengine.cli.options import echo_json, get_state, json_option
from cxengine.errors import CheckFailed, ConfigError

F = TypeVar("F", bound=Callable[..., Any])

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
ACTIONS_ENV = "GITHUB_ACTIONS"


@click.group("baseline")
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


@click.command("compare")
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
    failure = finish_gate(state, report, gate, as_json=as_json, color=stdout_color())
    if failure:
        raise CheckFailed(failure)
