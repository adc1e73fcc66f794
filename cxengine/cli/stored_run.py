"""What the commands that read a stored run share: RUN, --db, --metric, and loading it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cxengine.cli.options import get_state

F = TypeVar("F", bound=Callable[..., Any])


def stored_run_options(fn: F) -> F:
    """Add RUN (default: the latest ok run), --db and --metric to a command."""
    fn = click.option(
        "--metric", "-m", "metrics", multiple=True, help="Only this metric (repeatable)."
    )(fn)
    fn = click.option(
        "--db",
        "database",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Results database. Default: the project's (database: in cxengine.yaml).",
    )(fn)
    return click.argument("run", default="last", required=False)(fn)


def load_stored_run(
    ctx: click.Context,
    run: str,
    database: Path | None,
    metrics: tuple[str, ...],
    since: str | None = None,
) -> Any:
    """Open the results database and read one run as `cxengine.report.data.RunData`."""
    from cxengine.report.data import load_run, open_store

    state = get_state(ctx)
    path = database if database is not None else state.project().database_path
    with open_store(path) as store:
        return load_run(store, run or "last", state.registry, metrics=metrics, since=since)
