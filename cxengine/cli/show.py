"""`cxengine show`: stored values as a table, without recomputing anything."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from cxengine.cli.options import echo_json, json_option
from cxengine.cli.stored_run import load_stored_run, stored_run_options


def _period_option(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """Refuse a period no run can have (2025-13, 2025-W53, 'march') before reading anything."""
    from cxengine.compute.periods import parse_label

    if value in ("latest", "all") or parse_label(value) is not None:
        return value
    raise click.BadParameter(
        f"{value!r} is not a period: use latest, all, or a label such as 2025, "
        "2025-Q1, 2025-03, 2025-W09 or 2025-03-14"
    )


@click.command("show")
@stored_run_options
@click.option(
    "--period",
    default="latest",
    show_default=True,
    callback=_period_option,
    help="latest (each metric's latest complete period), all, or one: 2025-03, 2025-Q1.",
)
@click.option(
    "--by",
    "by",
    multiple=True,
    help="Only values sliced by exactly this field (repeatable); default: every slice.",
)
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@json_option
@click.pass_context
def show_command(
    ctx: click.Context,
    run: str,
    database: Path | None,
    metrics: tuple[str, ...],
    period: str,
    by: tuple[str, ...],
    as_csv: bool,
    as_json: bool,
) -> None:
    """Print the values of a stored run (default: the latest) as a table.

    RUN is `last`, a tag (`cxengine run --tag`) or a run id prefix. Nothing is
    recomputed: the numbers are the stored ones.

    \b
    Examples:
        cxengine show --metric nps --by touchpoint
        cxengine show --period all --metric csat --csv > csat.csv
        cxengine show release-42 --period 2025-11 --json
    """
    from cxengine.report.export import csv_text, json_rows
    from cxengine.report.flat import flat_table, select
    from cxengine.report.tables import values_table

    if as_csv and as_json:
        raise click.UsageError("--csv and --json: pick one")
    from cxengine.compute.periods import label
    from cxengine.errors import did_you_mean

    data = load_stored_run(ctx, run, database, metrics)
    fields = {f for m in data.metrics.values() for v in m.points for f in m.slice_fields(v)}
    for field in by:
        if field not in fields:
            known = ", ".join(sorted(fields)) or "none: every value is overall"
            raise click.BadParameter(
                f"no value of run {data.run_id} is sliced by {field!r}"
                f"{did_you_mean(field, sorted(fields))}; slice fields: {known}",
                param_hint="'--by'",
            )
    picked = select(data, period=period, by=by)
    if as_json:
        echo_json(json_rows(flat_table(data, picked)))
    elif as_csv:
        click.echo(csv_text(flat_table(data, picked)), nl=False)
    elif not picked:
        periods = sorted(
            {
                label(m.grain, date.fromisoformat(p))
                for m in data.metrics.values()
                for p in m.periods()
            }
        )
        having = f"{periods[0]} … {periods[-1]}" if periods else "none"
        sliced = f" sliced by {' and '.join(by)}" if by else ""
        click.echo(
            f"No values for period {period!r}{sliced} in run {data.run_id} "
            f"(its periods: {having}).",
            err=True,
        )
    else:
        click.echo(values_table(data, picked))
