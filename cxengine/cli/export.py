"""`cxengine export`: a stored run's values as one flat file for spreadsheets and BI."""

from __future__ import annotations

from pathlib import Path

import click

from cxengine.cli.stored_run import load_stored_run, stored_run_options

FORMATS = ("csv", "parquet", "xlsx", "json")


@click.command("export")
@stored_run_options
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
    help="File format.",
)  # fmt: skip
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="File to write. Default: values-<run>.<format> in this folder.",
)  # fmt: skip
@click.pass_context
def export_command(
    ctx: click.Context,
    run: str,
    database: Path | None,
    metrics: tuple[str, ...],
    fmt: str,
    output: Path | None,
) -> None:
    """Write every value of a stored run as one flat row each.

    Columns: metric, title, unit, kind, grain, period (a date), period_label, one
    column per slice field, value, ci_low, ci_high, n, low_sample, excluded, note and
    the raw counts as count_* columns. In xlsx and parquet dates are dates and
    numbers are numbers.

    \b
    Examples:
        cxengine export --format xlsx -o values.xlsx
        cxengine export release-42 --format parquet --metric nps
    """
    from cxengine.report.export import write
    from cxengine.report.flat import flat_table

    data = load_stored_run(ctx, run, database, metrics)
    table = flat_table(data)
    path = output or Path(f"values-{data.run_id}.{fmt}")
    write(table, fmt, path)
    click.echo(f"wrote {len(table.rows):,} values of run {data.run_id} to {path}")
