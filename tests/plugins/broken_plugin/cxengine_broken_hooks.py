"""A plugin that imports cleanly but whose hooks fail when they run.

This is how a real plugin usually breaks: its module loads, then a hook imports a
submodule that is missing or calls something that raises.
"""

from collections.abc import Callable

import click

from cxengine.api import hookimpl


@hookimpl
def register_commands(cli: click.Group) -> None:
    from cxengine_broken_hooks_missing import commands  # noqa: F401  (no such module)


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    raise RuntimeError("source registration broken on purpose")
