"""The `cxengine` click group: every command listed here, each loaded when it is used.

Commands are plain click commands in their own modules (info.py, project.py,
checks.py), which import only the shared helpers of options.py and gate.py. This
table is the one place that names them; a command's module is imported only when
the command runs or its help is shown, and installed plugins' entry points are
loaded only for a command that needs them (`--version` loads nothing, `--help` only
the plugins' `register_commands`).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from cxengine import __version__
from cxengine.cli.options import (
    CliState,
    echo_json,
    get_state,
    json_option,
    stderr_is_terminal,
)

# Names other modules imported from here before options.py existed.
__all__ = [
    "COMMANDS",
    "CliState",
    "CxGroup",
    "cli",
    "echo_json",
    "get_state",
    "json_option",
    "stderr_is_terminal",
]

#: Every built-in command: name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "init": "cxengine.cli.project:init_command",
    "validate": "cxengine.cli.project:validate_command",
    "run": "cxengine.cli.project:run_command",
    "metrics": "cxengine.cli.info:metrics_command",
    "sources": "cxengine.cli.info:sources_command",
    "plugins": "cxengine.cli.info:plugins_command",
    "schema": "cxengine.cli.info:schema_command",
    "baseline": "cxengine.cli.checks:baseline_group",
    "compare": "cxengine.cli.checks:compare_command",
    "plugin": "cxengine.cli.plugin:plugin_group",
    "report": "cxengine.cli.report:report_command",
    "show": "cxengine.cli.show:show_command",
    "export": "cxengine.cli.export:export_command",
    "datasette": "cxengine.cli.datasette:datasette_command",
}

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def load_command(name: str) -> click.Command:
    """Import and return the built-in command `name`."""
    module, attribute = COMMANDS[name].split(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command), COMMANDS[name]
    return command


class CxGroup(click.Group):
    """The root group: lazy commands, and cxengine's errors as messages and exit codes.

    Mapping errors here rather than only in `main` means `CliRunner` (tests, embedding
    applications) sees exactly the exit codes and messages a shell user does.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(self.commands) | set(COMMANDS) | set(self._plugin_commands(ctx))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:  # added with add_command (tests, embedding)
            return self.commands[cmd_name]
        if cmd_name in COMMANDS:
            return load_command(cmd_name)
        return self._plugin_commands(ctx).get(cmd_name)

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        state = get_state(ctx)
        cached = ctx.meta.get("cxengine.plugin_commands")
        if cached is None:
            cached = {n: c for n, c in state.plugin_commands().items() if n not in COMMANDS}
            ctx.meta["cxengine.plugin_commands"] = cached
        return dict(cached)

    def invoke(self, ctx: click.Context) -> Any:
        from cxengine.errors import CxError, SpecError

        try:
            return super().invoke(ctx)
        except CxError as exc:
            # A SpecError is already a list of `file:line: key: message` lines.
            from cxengine.textsafe import visible

            text = str(exc) if isinstance(exc, SpecError) else f"error: {exc}"
            click.echo(visible(text, keep="\n"), err=True)
            ctx.exit(int(exc.exit_code))


@click.group(cls=CxGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="cxengine")
@click.option(
    "--config",
    "-c",
    "config_path",
    envvar="CXENGINE_CONFIG",
    type=click.Path(dir_okay=True),
    help="Project config (cxengine.yaml) or its folder. Default: found in this folder or a parent.",
)
@click.option(
    "--allow-path",
    "allowed_paths",
    multiple=True,
    type=click.Path(),
    help="Let datasets read files under this folder outside the project (repeatable).",
)
@click.option(
    "--strict-plugins",
    is_flag=True,
    help="Fail (exit 3) when a plugin cannot be loaded. Also CXENGINE_STRICT_PLUGINS=1.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    allowed_paths: tuple[str, ...],
    strict_plugins: bool,
) -> None:
    """Customer-experience metrics as code: CSAT, NPS, CES and more from YAML specs.

    \b
    Example:
        cxengine init demo && cd demo && cxengine run
    """
    state = get_state(ctx)
    state.config_path = config_path
    if strict_plugins:
        state.strict = True
    state.allowed_paths = allowed_paths
