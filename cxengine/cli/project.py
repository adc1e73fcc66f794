"""Commands that work on a project: init, validate, run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cxengine.cli.gate import finish_gate, gate_options, prepare_gate, stdout_color
from cxengine.cli.options import echo_json, get_state, json_option, stderr_is_terminal
from cxengine.errors import CheckFailed, ExitCode, SpecError


@click.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rows", default=4000, show_default=True, help="Survey responses to generate.")
@click.option("--seed", default=7, show_default=True, help="Random seed of the example data.")
@click.option("--force", is_flag=True, help="Overwrite an existing project's files.")
def init_command(directory: Path, rows: int, seed: int, force: bool) -> None:
    """Create a project with the standard specs and example data.

    \b
    Example:
        cxengine init demo && cd demo && cxengine run
    """
    from cxengine.scaffold import init_project

    result = init_project(directory, rows=rows, seed=seed, force=force)
    click.echo(f"Created a cxengine project in {directory}:")
    for path in result.files:
        click.echo(f"  {path}")
    click.echo(f"\nNext: cd {directory} && cxengine run")


@click.command("validate")
@click.option(
    "--with-data", is_flag=True, help="Also read the datasets and check fields and types."
)
@json_option
@click.pass_context
def validate_command(ctx: click.Context, with_data: bool, as_json: bool) -> None:
    """Check the project config and every metric spec; report all problems at once.

    Problems are printed as `file:line: key.path: message`. Exit code 1 when any
    error is found. No data is read unless --with-data is given.

    \b
    Example:
        cxengine validate --with-data
    """
    from cxengine.runner import validate_project

    state = get_state(ctx)
    try:
        specs, problems = validate_project(state.project(), state.registry, with_data=with_data)
    except SpecError as exc:
        # An invalid config is a validation result like any other (and --json stays JSON).
        specs, problems = [], exc.problems
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        echo_json(
            {
                "valid": not errors,
                "metrics": [s.name for s in specs],
                "problems": [
                    {
                        "file": p.file,
                        "line": p.line,
                        "path": p.path,
                        "message": p.message,
                        "severity": p.severity,
                    }
                    for p in problems
                ],
            }
        )
    else:
        for p in problems:
            click.echo(str(p), err=True)
        if not errors:
            click.echo(f"ok: {len(specs)} metric specs valid")
    if errors:
        ctx.exit(ExitCode.CHECK_FAILED)


@click.command("run")
@click.option("--metric", "-m", "metrics", multiple=True, help="Run only this metric (repeatable).")
@click.option(
    "--no-store", is_flag=True, help="Compute and print, but do not write the results database."
)
@click.option(
    "--max-reject-rate",
    type=click.FloatRange(0, 1),
    default=None,
    help="Fail (exit 1) when a dataset rejects more than this share of its rows, e.g. 0.05.",
)
@click.option(
    "--tag", "tags", multiple=True, help="Name the stored run (repeatable), e.g. --tag release-42."
)
@click.option(
    "--format",
    "fmt",
    default=None,
    help="Output format (a reporter name: table, json, markdown, …). Default: a summary.",
)
@click.option("--detail", is_flag=True, help="Print every period and slice (the `table` format).")
@click.option(
    "--force",
    is_flag=True,
    help="Recompute even when a stored run has the same inputs, specs and code.",
)
@gate_options
@json_option
@click.pass_context
def run_command(
    ctx: click.Context,
    metrics: tuple[str, ...],
    no_store: bool,
    max_reject_rate: float | None,
    tags: tuple[str, ...],
    fmt: str | None,
    detail: bool,
    force: bool,
    as_json: bool,
    **gate: Any,
) -> None:
    """Compute every metric, print it, and store the run in the results database.

    Prints one line per metric: the latest complete period's value with its interval
    and n, the change against the period before (* when significant) and target
    flags. --detail prints every period and slice. Every value comes with n and a
    confidence interval. Rows that cannot be used are stored as rejects with file,
    line and reason; the summary counts them.

    Targets and regression rules in the specs are checked on every run; with
    --baseline FILE or --baseline-run REF each value is also compared with the
    baseline (see docs/ci.md). Exit code 1 when a check fails.

    When the results database holds a run with the same inputs, specs, config and
    code, that run is printed instead of computed again (a line on stderr says so;
    the checks still run); --force recomputes. See docs/performance.md.

    \b
    Examples:
        cxengine run
        cxengine run --force
        cxengine run --detail --metric nps
        cxengine run --metric nps --json
        cxengine run --baseline baseline.json --junit checks.xml --markdown checks.md
    """
    import time

    started = time.time()  # before anything is read: see replay.watch_list
    state = get_state(ctx)
    command = _replay_command(ctx, state, no_store or force or bool(tags), fmt, gate)

    def run_it() -> Any:
        return _run(
            state, metrics, no_store, max_reject_rate, tags, fmt, detail, force, as_json, gate
        )

    if command is None:
        run_it()
        return
    # A command that can be replayed: printed from the database if it was before
    # (cxengine/replay.py), else run, and its output kept if the run was reused.
    from cxengine import replay

    if replay.replay(command, state.config_path):
        return
    with replay.captured() as (out, err):
        result = run_it()
    _record_replay(state, command, result, out.text(), err.text(), started)


def _replay_command(
    ctx: click.Context, state: Any, writes: bool, fmt: str | None, gate: dict[str, Any]
) -> dict[str, Any] | None:
    """Return the options that key a replay of this run, or None if it must not be replayed.

    Not replayed: --no-store, --force and --tag (they write or recompute), formats whose
    text may hold more than the stored run (a plugin's, markdown), baselines and verdict
    files (read or written anew each time), a GitHub step summary (appended to), and a
    state built by the caller (tests, embedding: its plugins are not the installed ones).
    """
    import os

    from cxengine.replay import FORMATS

    if writes or fmt not in FORMATS or state.pm is not None or state._registry is not None:
        return None
    if any(gate.get(k) for k in ("baseline_file", "baseline_run", "junit_path", "markdown_path")):
        return None
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        return None
    return {"cli": ctx.find_root().params, "run": ctx.params}


def _record_replay(
    state: Any, command: dict[str, Any], result: Any, out: str, err: str, started: float
) -> None:
    """Keep what a reused run printed, when nothing else than the stored run shaped it."""
    from cxengine import replay

    fingerprint = result.extra.get("fingerprint")
    if not result.extra.get("reused") or fingerprint is None or result.database is None:
        return
    if fingerprint.parts["enrichers"] or state._warned:
        return  # an enricher's version may read files only it knows; a plugin warned
    from cxengine.runner import _check_rows

    project = state.project()
    watch = replay.watch_list(project, fingerprint, started)
    if watch is None:
        return
    key = replay.context_key(command, project.path, project.text_hash)
    replay.record(
        result.database, key, fingerprint, result.run_id, watch, out, err, _check_rows(result)
    )


def _run(
    state: Any,
    metrics: tuple[str, ...],
    no_store: bool,
    max_reject_rate: float | None,
    tags: tuple[str, ...],
    fmt: str | None,
    detail: bool,
    force: bool,
    as_json: bool,
    gate: dict[str, Any],
) -> Any:
    """Run the project and print it (the body of `cxengine run`); return the result."""
    from cxengine.cli.usage import check_names
    from cxengine.runner import run_project

    if not as_json and fmt is not None:
        check_names("--format", [fmt], state.registry.reporters, "reporter")
    project = state.project()
    if fmt is None and not as_json and not detail:
        reporter = None  # the summary, built after the run
    else:
        reporter = state.registry.reporter("json" if as_json else fmt or "table")
    # Before this run is stored, so that --baseline-run last means the run before it.
    judge = prepare_gate(state, project, gate)
    with _progress() as progress:
        try:
            result = run_project(
                project,
                state.registry,
                only=list(metrics) or None,
                store=not no_store,
                progress=progress,
                checks=judge,
                reuse=not force,
            )
        except SpecError as exc:
            # A --metric typo is a usage error (exit 2), not a broken spec.
            if exc.problems and all(p.path == "--metric" for p in exc.problems):
                raise click.BadParameter(
                    "; ".join(p.message for p in exc.problems), param_hint="'--metric'"
                ) from None
            raise
    if tags and result.database:
        from cxengine.store.results import ResultsStore

        with ResultsStore(result.database) as store:
            for tag in tags:
                store.tag_run(tag, result.run_id)
    if reporter is None:
        from cxengine.report.data import from_result
        from cxengine.report.summary import summary_text

        data = from_result(result, state.registry)
        click.echo(summary_text(data, color=stdout_color()), nl=False)
    else:
        click.echo(reporter.render(result, color=not as_json and stdout_color()), nl=False)
    _summary(result, quiet=as_json)
    judge.raise_if_failed(result.run_id, stored=result.database is not None)
    gate_failure = finish_gate(
        state,
        result.extra.get("checks"),
        gate,
        as_json=as_json,
        color=stdout_color(),
        # Only the summary and the table are text for people; any other format is a
        # document a program reads from stdout.
        document=fmt not in (None, "table"),
    )
    if max_reject_rate is not None:
        # A row holding a rejected value counts like a broken one: the rate is of
        # rows that lost something.
        too_many = [
            f"{name}: {hit} of {d.rows_read} rows rejected"
            + (
                f" ({d.rows_rejected} broken, {d.rows_with_bad_values} with a rejected value)"
                if d.rows_with_bad_values
                else ""
            )
            for name, d in result.datasets.items()
            if d.rows_read
            and (hit := d.rows_rejected + d.rows_with_bad_values) / d.rows_read > max_reject_rate
        ]
        if too_many:
            raise CheckFailed(f"reject rate above {max_reject_rate:.1%}: " + "; ".join(too_many))
    failures = [gate_failure] if gate_failure else []
    if result.failed:
        # Every other metric is computed and stored; these are named, and the exit
        # code says the run is incomplete.
        failures.append(
            f"{len(result.failed)} of {len(result.specs)} metrics could not be computed:\n"
            + "\n".join(str(p) for p in result.failed)
        )
    if failures:
        raise CheckFailed("\n".join(failures))
    return result


def _summary(result: Any, quiet: bool) -> None:
    lines = []
    for name, d in result.datasets.items():
        lines.append(
            f"{name}: {d.rows_read} rows read, {d.rows_used} used, "
            f"{d.rows_rejected} rejected ({d.origin})"
        )
        cells = getattr(d, "cells_rejected", None)
        if cells:
            per_field = ", ".join(f"{f} {n}" for f, n in sorted(cells.items()))
            lines.append(
                f"{name}: {sum(cells.values())} values rejected in their field only "
                f"({per_field}); their rows still count"
            )
        lines.extend(f"note: {name}: {n}" for n in d.notes)
    enrichment = result.extra.get("enrichment")
    for st in enrichment.stats if enrichment else ():
        lines.append(
            f"{st.dataset}.{st.field}: {st.comments} comments tagged by {st.enricher} "
            f"({st.analysed} analysed, {st.cached} from cache)"
        )
        summary = (getattr(st, "learning", None) or {}).get("summary")
        if summary:
            lines.append(f"{st.dataset}.{st.field}: {summary}")
    lines.extend(f"notice: {n}" for n in (enrichment.notices if enrichment else ()))
    excluded = sum(1 for r in result.rejects if r.metric)
    if excluded:
        lines.append(f"{excluded} values excluded from metrics (out of scale or unusable)")
    if result.extra.get("reused"):
        lines.append(
            f"reused run {result.run_id}: inputs, specs, config and code unchanged "
            "since it was computed (--force recomputes)"
        )
    elif result.database:
        lines.append(f"run {result.run_id} stored in {result.database}")
    if result.rejects and result.database:
        lines.append(
            f"see rejects: sqlite3 {result.database} "
            f"\"select * from rejects where run_id = '{result.run_id}'\""
        )
    from cxengine.textsafe import visible

    for line in lines:
        # Notes quote data (column names, values): shown, never sent to the terminal raw.
        click.echo(visible(line), err=True)


class _progress:
    """A progress bar on stderr when a person is watching; silent otherwise."""

    def __enter__(self) -> Any:
        self.bar: Any = None
        if not stderr_is_terminal():
            return None

        def update(what: str, done: int, total: int) -> None:
            if self.bar is None:
                # sys.stderr, not click.get_text_stream(), which Click 8.5 deprecates.
                self.bar = click.progressbar(length=total, label="cxengine", file=sys.stderr)
                self.bar.__enter__()
            if self.bar.length != total:
                self.bar.length = total
                self.bar.pos = 0
            self.bar.label = what
            self.bar.update(done - self.bar.pos)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
