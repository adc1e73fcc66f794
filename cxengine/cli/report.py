"""`cxengine report`: the HTML report of a stored run, one self-contained file."""

from __future__ import annotations

import time
from pathlib import Path

import click

from cxengine.cli.options import get_state
from cxengine.cli.stored_run import load_stored_run, stored_run_options


@click.command("report")
@stored_run_options
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"), show_default=True, help="HTML file to write.",
)  # fmt: skip
@click.option(
    "--since", default=None, help="Only periods from this one on: 2025-03, 2025-03-01, 2025."
)
@click.option("--title", default=None, help="Title of the report. Default: from the project.")
@click.pass_context
def report_command(
    ctx: click.Context,
    run: str,
    database: Path | None,
    metrics: tuple[str, ...],
    output: Path,
    since: str | None,
    title: str | None,
) -> None:
    """Write one self-contained HTML report of a stored run (default: the latest).

    Headline cards, trends per slice with intervals, NPS composition, CSI drivers,
    the gate's verdicts, themes (with the NLP plugin), data quality and provenance.
    No network is needed to open it: it works from disk, as an e-mail attachment and
    on paper (A4).

    \b
    Examples:
        cxengine report
        cxengine report release-42 -o release-42.html --metric nps --metric csat
        cxengine report --since 2025-07
    """
    from cxengine.errors import ConfigError
    from cxengine.report.html import build_report

    state = get_state(ctx)
    started = time.perf_counter()
    data = load_stored_run(ctx, run, database, metrics, since=since)
    try:
        project = state.project()
    except ConfigError:
        project = None  # a database on its own: no project-dependent sections
    html = build_report(data, project=project, registry=state.registry, pm=state.pm, title=title)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(output)
    took = time.perf_counter() - started
    click.echo(
        f"wrote {output} ({len(html.encode('utf-8')) / 1024:,.0f} KB, run {data.run_id}, "
        f"{len(data.metrics)} metrics) in {took:.1f} s"
    )
