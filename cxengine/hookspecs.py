"""The plugin hooks of cxengine.

Every hook is registration-style: it receives a ``register`` callback and calls it
once per thing it provides. New keyword arguments to ``register`` never break
existing plugins, and one plugin can provide many things. Built-in features
(`cxengine/default_plugins/`) register through exactly these hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

hookspec = pluggy.HookspecMarker("cxengine")


@hookspec
def register_sources(register: Callable[..., None]) -> None:
    """Register data sources: call ``register(source)`` with a `cxengine.interfaces.Source`."""


@hookspec
def register_aggregations(register: Callable[..., None]) -> None:
    """Register metric kinds: call ``register(aggregation)`` with an `Aggregation`."""


@hookspec
def register_reporters(register: Callable[..., None]) -> None:
    """Register output formats: call ``register(reporter)`` with a `Reporter`."""


@hookspec
def register_enrichers(register: Callable[..., None]) -> None:
    """Register text enrichers (comment tagging): call ``register(enricher)``."""


@hookspec
def register_engines(register: Callable[..., None]) -> None:
    """Register compute engines: call ``register(engine)`` with a `cxengine.api.Engine`.

    A dataset naming the engine (``engine: postgres``) is computed inside it: every
    spec's plan rendered in the engine's SQL dialect, only aggregate rows fetched
    (docs/engines.md). The embedded DuckDB needs no registration.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``cxengine`` command line: ``cli.add_command(...)``."""


@hookspec
def register_report_sections(register: Callable[..., None]) -> None:
    """Add sections to the HTML report: call ``register(section)`` with an object that has
    ``name``, ``title``, ``order`` and ``render(context)`` (see
    `cxengine.report.sections.ReportSection`)."""
