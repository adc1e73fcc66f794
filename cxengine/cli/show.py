"""`cxengine show`: stored values as a table, without recomputing anything."""

from __future__ import annotations

from pathlib import Path

import click

from cxengine.cli.options import echo_json, json_option
from cxengine.cli.stored_run import load_stored_run, stored_run_options


@click.command("show")
@stored_run_options
@click.option(
    "--period",
    default="latest",
    show_default=True,
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
    data = load_stored_run(ctx, run, database, metrics)
    picked = select(data, period=period, by=by)
    if as_json:
        echo_json(json_rows(flat_table(data, picked)))
    elif as_csv:
        click.echo(csv_text(flat_table(data, picked)), nl=False)
    elif not picked:
        click.echo(f"No values for period {period!r} in run {data.run_id}.", err=True)
    else:
        click.echo(values_table(data, picked))
