"""`cxengine plugin new`: start a plugin package from the template."""

from __future__ import annotations

from pathlib import Path

import click

from cxengine.cli.options import echo_json, json_option


@click.group("plugin")
def plugin_group() -> None:
    """Tools for plugin authors.

    \b
    Example:
        cxengine plugin new my-helpdesk --type source
    """


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--type",
    "plugin_type",
    type=click.Choice(["source", "kind", "reporter", "enricher", "engine"]),
    required=True,
    help="What the plugin provides.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to create the package in.",
)
@click.option("--description", help="One line saying what the plugin does.")
@click.option(
    "--cxengine",
    "cxengine_requirement",
    help="The cxengine requirement the package declares (default cxengine>=0.1).",
)
@json_option
def plugin_new_command(
    name: str,
    plugin_type: str,
    output: Path,
    description: str | None,
    cxengine_requirement: str | None,
    as_json: bool,
) -> None:
    """Write a ready plugin package: cxengine-NAME/ with pyproject.toml (entry
    point), the implementation skeleton, a README, tests using cxengine.testing and
    a CI workflow. Its tests pass as generated.

    \b
    Example:
        cxengine plugin new my-helpdesk --type source
        cd cxengine-my-helpdesk && pip install -e ".[test]" && pytest
    """
    from cxengine.plugin_new import new_plugin

    click.echo(f"writing cxengine-{name} ({plugin_type}) …", err=True)
    made = new_plugin(
        name,
        plugin_type,
        output,
        description=description,
        cxengine_requirement=cxengine_requirement,
    )
    if as_json:
        echo_json(made.as_dict())
        return
    click.echo(f"created {made.path} ({len(made.files)} files)")
    click.echo(f"  entry point: cxengine → {made.entry_name} = {made.module}.plugin")
    click.echo("next:")
    click.echo(f'  cd {made.path} && python -m pip install -e ".[test]" && python -m pytest')
