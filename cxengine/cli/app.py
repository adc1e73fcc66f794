"""The click group, the state commands share, and common options."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from cxengine import __version__
from cxengine.config import ProjectConfig, load_config
from cxengine.plugins import PluginManager, Registry, get_plugin_manager

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """Shared by every command of one invocation: plugins and the project config."""

    pm: PluginManager
    config_path: str | None = None
    allowed_paths: tuple[str, ...] = ()
    _registry: Registry | None = field(default=None, repr=False)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry(self.pm)
        return self._registry

    def project(self) -> ProjectConfig:
        """Load the project config named by --config, $CXENGINE_CONFIG or the folder."""
        import dataclasses
        from pathlib import Path

        config = load_config(self.config_path)
        if not self.allowed_paths:
            return config
        extra = tuple(Path(p).expanduser().resolve() for p in self.allowed_paths)
        return dataclasses.replace(config, cli_allowed_paths=extra)


def get_state(ctx: click.Context) -> CliState:
    """Return the state, building a default one when the CLI is invoked directly (tests)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState(get_plugin_manager())
    return root.obj


def json_option(fn: F) -> F:
    """Add --json to a command whose output is data."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        fn
    )


def echo_json(data: Any) -> None:
    """Print JSON to stdout, UTF-8, stable key order."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def stderr_is_terminal() -> bool:
    """Return True when progress on stderr would be seen by a person."""
    return sys.stderr.isatty()


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CxGroup(click.Group):
    """A click group that turns cxengine's own errors into messages and exit codes.

    Doing it here rather than only in `main` means `CliRunner` (tests, embedding
    applications) sees exactly the exit codes and messages a shell user does.
    """

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
    state.allowed_paths = allowed_paths


# Import the command modules so their @cli.command decorators run.
from cxengine.cli import datasette, export, info, plugin, project, report, show  # noqa: E402,F401
