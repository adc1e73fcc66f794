"""The `cxengine` entry point: registers one source per vendor export."""

from __future__ import annotations

from collections.abc import Callable

from cxengine_exports._host import hookimpl
from cxengine_exports.crm import AmoCrmSource, Bitrix24Source
from cxengine_exports.helpdesks import FreshdeskSource, IntercomSource, ZendeskSource
from cxengine_exports.surveys import (
    GoogleFormsSource,
    QualtricsSource,
    SurveyMonkeySource,
    TypeformSource,
)

SOURCES = (
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


@hookimpl  # type: ignore[untyped-decorator]  # pluggy's marker is untyped
def register_sources(register: Callable[..., None]) -> None:
    """Register every export source."""
    for source in SOURCES:
        register(source())
