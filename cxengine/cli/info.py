"""Commands that describe what is available: metrics, sources, plugins, schema."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from cxengine.cli.options import echo_json, get_state, json_option
from cxengine.errors import SpecError


@click.command("metrics")
@json_option
@click.pass_context
def metrics_command(ctx: click.Context, as_json: bool) -> None:
    """List the metric specs of the project.

    \b
    Example:
        cxengine metrics --json
    """
    from cxengine.runner import load_project_specs

    state = get_state(ctx)
    specs, problems = load_project_specs(state.project(), state.registry)
    errors = [p for p in problems if p.severity == "error"]
    rows = [
        {
            "name": s.name,
            "kind": s.spec.kind,
            "dataset": s.spec.dataset,
            "period": s.spec.period,
            "by": s.spec.by,
            "title": s.spec.title,
            "file": s.file,
        }
        for s in specs
    ]
    if as_json:
        echo_json(rows)
    else:
        _table(rows, ["name", "kind", "dataset", "period", "by", "title"])
    if errors:
        raise SpecError(errors)


@click.command("sources")
@json_option
@click.pass_context
def sources_command(ctx: click.Context, as_json: bool) -> None:
    """List the data sources that plugins provide, with their options.

    \b
    Example:
        cxengine sources --json
    """
    sources = get_state(ctx).registry.sources
    # From the registrations: a source is imported only if it was registered as an
    # object or its registration does not list its options.
    rows = [
        {
            "name": name,
            "plugin": sources.owner(name),
            "description": sources.description(name),
            "options": sorted(
                sources.details(name, "options") or sources[name].options_model.model_fields
            ),
        }
        for name in sorted(sources)
    ]
    if as_json:
        echo_json(rows)
    else:
        _table(rows, ["name", "description", "options"])


@click.command("plugins")
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
@click.option(
    "--check",
    is_flag=True,
    help="Also import everything registered by name and report what fails (exit 1).",
)
@json_option
@click.pass_context
def plugins_command(ctx: click.Context, show_all: bool, check: bool, as_json: bool) -> None:
    """List installed plugins, what they provide, and any that failed to load.

    A kind, source, reporter, enricher or engine registered by name is imported only
    when a project uses it; --check imports each one now, so a plugin whose module
    is broken is found before a run needs it.

    \b
    Examples:
        cxengine plugins --all --json
        cxengine plugins --check
    """
    registry = get_state(ctx).registry
    infos = registry.plugin_infos()
    broken = registry.load_all() if check else {}
    infos = [
        dataclasses.replace(i, error="; ".join(broken[i.name])) if i.name in broken else i
        for i in infos
        if show_all or not i.builtin or i.name in broken
    ]
    if as_json:
        echo_json([i.as_dict() for i in infos])
    else:
        _plugins_table(infos)
    if broken:
        ctx.exit(1)


def _plugins_table(infos: list[Any]) -> None:
    if not infos:
        click.echo("No third-party plugins installed (use --all to see the built-in ones).")
        return
    rows = [
        {
            "name": i.name,
            "distribution": f"{i.distribution or '?'} {i.version or ''}".strip(),
            "provides": "; ".join(f"{k}: {', '.join(v)}" for k, v in i.provides.items()),
            "error": i.error or "",
        }
        for i in infos
    ]
    _table(rows, ["name", "distribution", "provides", "error"])


@click.command("schema")
@click.option(
    "--config", "for_config", is_flag=True, help="Print the schema of cxengine.yaml instead."
)
@click.pass_context
def schema_command(ctx: click.Context, for_config: bool) -> None:
    """Print the JSON Schema of metric specs (for editor autocompletion).

    \b
    Example:
        cxengine schema > metric_specs/.schema.json
    """
    from cxengine.spec.schema import config_schema, spec_schema

    if for_config:
        echo_json(config_schema())
        return
    reg = get_state(ctx).registry
    echo_json(spec_schema({name: agg.spec_model for name, agg in reg.aggregations.items()}))


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    def cell(v: Any) -> str:
        if isinstance(v, list):
            return ", ".join(map(str, v))
        return "" if v is None else str(v)

    widths = {c: max([len(c), *(len(cell(r[c])) for r in rows)]) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    click.echo("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        click.echo("  ".join(cell(r[c]).ljust(widths[c]) for c in columns).rstrip())
