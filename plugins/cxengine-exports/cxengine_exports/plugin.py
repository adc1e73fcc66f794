"""The `cxengine` entry point: registers one source per vendor export.

Each source is registered by name (`cxengine.api.lazy`), with the description and
options `cxengine sources` lists: its adapter module, and pydantic with it, is
imported only when a dataset uses it. `cxengine --help` loads this module to find
commands (there are none), so it imports nothing else. tests/test_exports_registration.py
checks that every entry says what its class says.
"""

from __future__ import annotations

from collections.abc import Callable

from cxengine.api import LazyEntry, hookimpl, lazy

SOURCES: tuple[LazyEntry, ...] = (
    lazy(
        "surveymonkey",
        "cxengine_exports.surveys:SurveyMonkeySource",
        description=(
            "SurveyMonkey responses export (.csv or .xlsx; question and answer-option rows)"
        ),
        options=("columns", "labels", "path", "questions", "sheet", "timezone", "touchpoint"),
    ),
    lazy(
        "typeform",
        "cxengine_exports.surveys:TypeformSource",
        description="Typeform responses export (.csv: one column per question, hidden fields)",
        options=("columns", "labels", "path", "questions", "timezone", "touchpoint"),
    ),
    lazy(
        "google_forms",
        "cxengine_exports.surveys:GoogleFormsSource",
        description="Google Forms / Sheets responses (.csv; timestamp in the form's locale)",
        options=("columns", "labels", "locale", "path", "questions", "timezone", "touchpoint"),
    ),
    lazy(
        "qualtrics",
        "cxengine_exports.surveys:QualtricsSource",
        description="Qualtrics responses export (.csv: export tags, question texts, ImportId JSON)",
        options=("columns", "labels", "path", "questions", "timezone", "touchpoint"),
    ),
    lazy(
        "zendesk",
        "cxengine_exports.helpdesks:ZendeskSource",
        description="Zendesk tickets (.json/.jsonl export or API page, or the .csv export)",
        options=("columns", "labels", "path", "questions", "timezone", "touchpoint"),
    ),
    lazy(
        "freshdesk",
        "cxengine_exports.helpdesks:FreshdeskSource",
        description="Freshdesk tickets export (.csv from Tickets > Export)",
        options=("columns", "labels", "path", "questions", "timezone", "touchpoint"),
    ),
    lazy(
        "intercom",
        "cxengine_exports.helpdesks:IntercomSource",
        description="Intercom conversations (.json: an API page, a list, or one per line)",
        options=("columns", "labels", "path", "questions", "timezone", "touchpoint"),
    ),
    lazy(
        "bitrix24",
        "cxengine_exports.crm:Bitrix24Source",
        description="Bitrix24 CRM deals/leads export (.csv, cp1251, ';', Russian headers)",
        options=(
            "columns",
            "delimiter",
            "encoding",
            "labels",
            "path",
            "questions",
            "timezone",
            "touchpoint",
        ),
    ),
    lazy(
        "amocrm",
        "cxengine_exports.crm:AmoCrmSource",
        description="amoCRM leads export (.csv, cp1251, ';', Russian headers)",
        options=(
            "columns",
            "delimiter",
            "encoding",
            "labels",
            "path",
            "questions",
            "timezone",
            "touchpoint",
        ),
    ),
)


@hookimpl
def register_sources(register: Callable[..., None]) -> None:
    """Register every export source, by name."""
    for entry in SOURCES:
        register(entry)
