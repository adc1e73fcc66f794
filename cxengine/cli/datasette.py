"""`cxengine datasette`: Datasette over the results database, with everything described."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import click

from cxengine.cli.options import get_state


@click.command("datasette")
@click.option(
    "--db", "database", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Results database. Default: the project's (database: in cxengine.yaml).",
)  # fmt: skip
@click.option(
    "--metadata-only", is_flag=True,
    help="Only write the metadata file next to the database; do not start Datasette.",
)  # fmt: skip
@click.option("--port", "-p", type=int, default=8001, show_default=True, help="Port to serve on.")
@click.pass_context
def datasette_command(
    ctx: click.Context, database: Path | None, metadata_only: bool, port: int
) -> None:
    """Browse the results database in Datasette, with tables, columns and queries explained.

    Writes `<database>.metadata.json` next to the database (titles and descriptions
    of every table and column from docs/storage.md, and canned queries: latest
    values, a metric's trend by slice, rejects by reason, failing checks, comments
    of a theme), then starts `datasette` on it on localhost.

    \b
    Examples:
        cxengine datasette
        cxengine datasette --metadata-only && datasette cx.db -m cx.db.metadata.json
    """
    from cxengine.report.data import open_store
    from cxengine.report.datasette import metadata
    from cxengine.store.value_rows import column_names, current_fields

    state = get_state(ctx)
    path = database if database is not None else state.project().database_path
    with open_store(path) as store:  # migrates: value_rows exists afterwards
        fields = current_fields(store.conn)
    meta = metadata(path, column_names(fields))
    target = path.with_name(f"{path.name}.metadata.json")
    target.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"wrote {target}")
    command = ["datasette", "serve", str(path), "-m", str(target), "-p", str(port)]
    if metadata_only:
        click.echo("serve it with: " + " ".join(command))
        return
    if shutil.which("datasette") is None:
        raise click.ClickException(
            "datasette is not installed (pip install datasette); then run: " + " ".join(command)
        )
    click.echo(f"Datasette on http://127.0.0.1:{port}/ (Ctrl+C stops it)", err=True)
    try:
        ctx.exit(subprocess.call(command, stdout=sys.stdout, stderr=sys.stderr))
    except KeyboardInterrupt:
        ctx.exit(0)
