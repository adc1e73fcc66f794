"""The cxengine plugin (entry point ``nlp`` of group ``cxengine``): the host integration.

Registers, through cxengine's ordinary hooks:
- the ``nlp`` enricher (`enricher.py`): tags the comment field a dataset declares
  under ``comments:`` in cxengine.yaml;
- aggregation kinds over the tags (`kinds.py`): ``theme_share``, ``comment_sentiment``,
  ``theme_drivers``, ``theme_nps_cost``;
- the commands ``cxengine themes`` (with ``themes suggest``) and ``cxengine followups``
  (`commands.py`);
- the Themes section of ``cxengine report`` (`report_section.py`).

Only this module and the ones it names import cxengine; the rest of the package
works without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cxengine.api import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_enrichers(register: Callable[..., None]) -> None:
    """Register the nlp enricher."""
    from cxengine_nlp.enricher import NlpEnricher

    register(NlpEnricher())


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    """Register the kinds that turn comment tags into metrics."""
    from cxengine_nlp.kinds import KINDS

    for kind in KINDS:
        register(kind)


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add `cxengine themes` and `cxengine followups`."""
    from cxengine_nlp.commands import followups_command, themes_command

    cli.add_command(themes_command)
    cli.add_command(followups_command)


@hookimpl
def register_report_sections(register: Callable[..., None]) -> None:
    """Add the Themes section to `cxengine report`."""
    from cxengine_nlp.report_section import ThemesSection

    register(ThemesSection())
