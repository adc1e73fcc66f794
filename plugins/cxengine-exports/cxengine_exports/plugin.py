"""The `cxengine` entry point: registers one source per vendor export."""

from __future__ import annotations

from collections.abc import Callable

from cxengine_exports._host import hookimpl


@hookimpl  # type: ignore[untyped-decorator]  # pluggy's marker is untyped
def register_sources(register: Callable[..., None]) -> None:
    """Register every export source.

    The sources are imported here, not when the entry point loads: `cxengine --help`
    loads every plugin's entry point to find its commands, and this plugin has none.
    """
    for source in sources():
        register(source())


def sources() -> tuple[type, ...]:
    """Return the source classes, one per vendor export."""
    from cxengine_exports.crm import AmoCrmSource, Bitrix24Source
    from cxengine_exports.helpdesks import FreshdeskSource, IntercomSource, ZendeskSource
    from cxengine_exports.surveys import (
        GoogleFormsSource,
        QualtricsSource,
        SurveyMonkeySource,
        TypeformSource,
    )

    return (
        SurveyMonkeySource,
        TypeformSource,
        GoogleFormsSource,
        QualtricsSource,
        ZendeskSource,
        FreshdeskSource,
        IntercomSource,
        Bitrix24Source,
        AmoCrmSource,
    )
