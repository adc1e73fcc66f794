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

from cxengine.api import LazyEntry, hookimpl, lazy

if TYPE_CHECKING:
    import click


#: The enricher and the kinds, by name (`cxengine.api.lazy`): their modules, spaCy's
#: helpers and pydantic models load only when a dataset tags comments or a spec uses
#: one of the kinds, not for every command. tests/test_nlp_registration.py checks each
#: entry against its class.
ENRICHERS: tuple[LazyEntry, ...] = (
    lazy(
        "nlp",
        "cxengine_nlp.enricher:NlpEnricher",
        description="Keyword themes and lexicon sentiment for comments (en, ru), cxengine-nlp.",
    ),
)
KINDS: tuple[LazyEntry, ...] = (
    lazy(
        "theme_share",
        "cxengine_nlp.kinds:ThemeShare",
        description=(
            "Share of comments mentioning each theme (%), Wilson interval; needs cxengine-nlp."
        ),
    ),
    lazy(
        "comment_sentiment",
        "cxengine_nlp.kinds:CommentSentiment",
        description="Mean comment sentiment −1…1 (whole comment or one theme), t interval.",
    ),
    lazy(
        "theme_drivers",
        "cxengine_nlp.kinds:ThemeDrivers",
        description=(
            "Per theme: NPS (or mean score) of responses mentioning it minus those that do "
            "not, with an interval; needs cxengine-nlp."
        ),
    ),
    lazy(
        "theme_nps_cost",
        "cxengine_nlp.kinds:ThemeNpsCost",
        description=(
            "Per theme: NPS points it costs (if its detractors were passives), Wilson "
            "interval; needs cxengine-nlp."
        ),
    ),
)


@hookimpl
def register_enrichers(register: Callable[..., None]) -> None:
    """Register the nlp enricher."""
    for entry in ENRICHERS:
        register(entry)


@hookimpl
def register_aggregations(register: Callable[..., None]) -> None:
    """Register the kinds that turn comment tags into metrics."""
    for entry in KINDS:
        register(entry)


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
