"""What every command shares: the invocation's state and the common options.

Command modules import this (and cxengine/cli/gate.py), never each other and never
cxengine/cli/app.py, so the group can list them without a loop.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from cxengine.config import ProjectConfig
    from cxengine.plugins import PluginManager, Registry

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """Shared by every command of one invocation: plugins and the project config.

    Plugins load when a command first needs them: `--help` and `--version` never
    build the registry, and `cxengine init` loads no plugin at all.
    """

    pm: PluginManager | None = None
    config_path: str | None = None
    #: --strict-plugins or CXENGINE_STRICT_PLUGINS: a plugin that fails to load is fatal.
    strict: bool | None = None
    #: --allow-path: folders outside the project that datasets may read.
    allowed_paths: tuple[str, ...] = ()
    _registry: Registry | None = field(default=None, repr=False)
    _warned: set[str] = field(default_factory=set, repr=False)

    def warn(self, message: str) -> None:
        """Print a plugin warning on stderr once per invocation."""
        if message not in self._warned:
            self._warned.add(message)
            click.echo(message, err=True)

    def plugin_manager(self) -> PluginManager:
        """Return every plugin (built-in and installed), loading them on first use."""
        if self.pm is None:
            from cxengine.plugins import get_plugin_manager

            self.pm = get_plugin_manager(strict=self.strict, warn=self.warn)
        return self.pm

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            from cxengine.plugins import Registry

            self._registry = Registry(self.plugin_manager())
        return self._registry

    def plugin_commands(self) -> dict[str, click.Command]:
        """Return the commands installed plugins add, loading only their entry points."""
        collector = click.Group("plugins")
        if self.pm is not None:
            self.pm.hook.register_commands(cli=collector)
        else:
            from cxengine.plugins import get_command_plugins

            get_command_plugins(strict=self.strict, warn=self.warn).hook.register_commands(
                cli=collector
            )
        return dict(collector.commands)

    def project(self) -> ProjectConfig:
        """Load the project config named by --config, $CXENGINE_CONFIG or the folder."""
        import dataclasses
        from pathlib import Path

        from cxengine.config import find_config, load_config
        from cxengine.errors import SpecError

        try:
            config = load_config(self.config_path)
        except SpecError as exc:
            # The specs' own mistakes come out in the same pass as the config's.
            from cxengine.spec.without_config import spec_problems_without_config

            path = find_config(self.config_path)
            shown = exc.problems[0].file if exc.problems else str(path)
            more = spec_problems_without_config(path, shown, self.registry)
            raise SpecError([*exc.problems, *more]) from None
        if not self.allowed_paths:
            return config
        extra = tuple(Path(p).expanduser().resolve() for p in self.allowed_paths)
        return dataclasses.replace(config, cli_allowed_paths=extra)


def get_state(ctx: click.Context) -> CliState:
    """Return the state, building a default one when the CLI is invoked directly (tests)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
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
