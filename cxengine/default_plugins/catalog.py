"""What the built-in plugins provide, by name, without importing them.

Each built-in module (a source, a kind, a reporter, an engine) is registered as a
plugin of its own name, through the same hooks as a third-party plugin, with a
`LazyEntry` per thing it provides: its name, where it lives, and what `cxengine
sources`/`plugins` list. The module is imported when a spec or dataset uses it
(`cxengine/plugins.py`, `Registry`). Listing, validating a project that uses three
kinds and printing a reused run so import three kinds, not fourteen, and no source.

Every module still has its own eager ``@hookimpl`` (registering the module itself,
as a test or another tool may, works as before). tests/test_builtin_catalog.py checks
that each entry here says what the module registers: name, class, description and a
source's options.
"""

from __future__ import annotations

from collections.abc import Callable

from cxengine import hookimpl
from cxengine.registration import LazyEntry, lazy

#: module -> (the hook it implements, what it registers). Order: as registered.
BUILTINS: dict[str, tuple[str, tuple[LazyEntry, ...]]] = {
    "cxengine.default_plugins.sources.csv": (
        "register_sources",
        (
            lazy(
                "csv",
                "cxengine.default_plugins.sources.csv:CsvSource",
                description=(
                    "CSV/TSV files; encoding and delimiter detected; malformed lines rejected "
                    "with line numbers"
                ),
                options=("delimiter", "encoding", "escape", "header", "path", "quote", "skip_rows"),
            ),
        ),
    ),
    "cxengine.default_plugins.sources.jsonl": (
        "register_sources",
        (
            lazy(
                "jsonl",
                "cxengine.default_plugins.sources.jsonl:JsonlSource",
                description=(
                    "JSON Lines files (one object per line); bad lines rejected with line numbers"
                ),
                options=("path",),
            ),
        ),
    ),
    "cxengine.default_plugins.sources.json_array": (
        "register_sources",
        (
            lazy(
                "json",
                "cxengine.default_plugins.sources.json_array:JsonSource",
                description=(
                    "a JSON file holding an array of objects; non-object elements rejected by index"
                ),
                options=("path",),
            ),
        ),
    ),
    "cxengine.default_plugins.sources.sqlite": (
        "register_sources",
        (
            lazy(
                "sqlite",
                "cxengine.default_plugins.sources.sqlite:SqliteSource",
                description="a table or SELECT query from a SQLite database (read-only)",
                options=("path", "query", "table"),
            ),
        ),
    ),
    "cxengine.default_plugins.sources.parquet": (
        "register_sources",
        (
            lazy(
                "parquet",
                "cxengine.default_plugins.sources.parquet:ParquetSource",
                description="Parquet files, typed by the file's own schema",
                options=("path",),
            ),
        ),
    ),
    "cxengine.default_plugins.sources.excel": (
        "register_sources",
        (
            lazy(
                "excel",
                "cxengine.default_plugins.sources.excel:ExcelSource",
                description="one sheet of an .xlsx/.xlsm workbook (header row, typed cells)",
                options=("header_row", "path", "sheet"),
            ),
        ),
    ),
    "cxengine.default_plugins.sources.xml": (
        "register_sources",
        (
            lazy(
                "xml",
                "cxengine.default_plugins.sources.xml:XmlSource",
                description=(
                    "XML files: one row per record element; columns from attributes and child paths"
                ),
                options=("columns", "path", "record"),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.share": (
        "register_aggregations",
        (
            lazy(
                "share",
                "cxengine.default_plugins.aggregations.share:Share",
                description=(
                    "Percentage of answers in a positive set (top-2-box by default), Wilson "
                    "interval."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.mean": (
        "register_aggregations",
        (
            lazy(
                "mean",
                "cxengine.default_plugins.aggregations.mean:Mean",
                description=(
                    "Average of a numeric field (optionally rescaled to 0–100), t-interval."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.nps": (
        "register_aggregations",
        (
            lazy(
                "nps",
                "cxengine.default_plugins.aggregations.nps:Nps",
                description=(
                    "Net Promoter Score: % promoters − % detractors, −100…100, normal interval."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.count": (
        "register_aggregations",
        (
            lazy(
                "count",
                "cxengine.default_plugins.aggregations.count:Count",
                description=(
                    "Number of rows, non-empty values or distinct values; no interval (a census)."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.duration": (
        "register_aggregations",
        (
            lazy(
                "duration",
                "cxengine.default_plugins.aggregations.duration:Duration",
                description=(
                    "Mean, median or percentile of to − from (first response, resolution, wait), "
                    "optionally in business hours; t or order-statistic interval."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.distribution": (
        "register_aggregations",
        (
            lazy(
                "distribution",
                "cxengine.default_plugins.aggregations.distribution:Distribution",
                description=(
                    "Share of rows per category (preferred channel), Wilson interval per share."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.backlog": (
        "register_aggregations",
        (
            lazy(
                "backlog",
                "cxengine.default_plugins.aggregations.backlog:Backlog",
                description=(
                    "Items open at the end of each period and older than a threshold (a census)."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.retention": (
        "register_aggregations",
        (
            lazy(
                "retention",
                "cxengine.default_plugins.aggregations.retention:Retention",
                description=(
                    "Customer retention rate (E − N) / S × 100 or the cohort count, Wilson "
                    "interval."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.churn": (
        "register_aggregations",
        (
            lazy(
                "churn",
                "cxengine.default_plugins.aggregations.churn:Churn",
                description=(
                    "Churn rate: customers lost / customers at the period start × 100, Wilson."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.weighted_index": (
        "register_aggregations",
        (
            lazy(
                "weighted_index",
                "cxengine.default_plugins.aggregations.weighted_index:WeightedIndex",
                description=(
                    "Weighted index over several questions rescaled to 0–100 (CSI); skipped "
                    "questions re-weighted; t-interval on the per-respondent index."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.repeat_purchase": (
        "register_aggregations",
        (
            lazy(
                "repeat_purchase",
                "cxengine.default_plugins.aggregations.repeat_purchase:RepeatPurchase",
                description=(
                    "Customers with 2+ purchases / customers with 1+ purchase × 100, Wilson "
                    "interval."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.formula": (
        "register_aggregations",
        (
            lazy(
                "formula",
                "cxengine.default_plugins.aggregations.formula:Formula",
                description=(
                    "Arithmetic over other metrics per period and slice; delta-method interval."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.aggregations.drivers": (
        "register_aggregations",
        (
            lazy(
                "drivers",
                "cxengine.default_plugins.aggregations.drivers:Drivers",
                description=(
                    "Per level (or band) of each factor: score there minus the rest, interval, "
                    "p-value, share of answers; ranked by effect."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.reporters.table": (
        "register_reporters",
        (
            lazy(
                "table",
                "cxengine.default_plugins.reporters.table:TableReporter",
                description="Readable table grouped by metric (colour only on a terminal).",
            ),
        ),
    ),
    "cxengine.default_plugins.reporters.json": (
        "register_reporters",
        (
            lazy(
                "json",
                "cxengine.default_plugins.reporters.json:JsonReporter",
                description="JSON document with the run id, dataset row counts and every value.",
            ),
        ),
    ),
    "cxengine.default_plugins.reporters.checks": (
        "register_reporters",
        (
            lazy(
                "checks",
                "cxengine.default_plugins.reporters.checks:ChecksReporter",
                description=(
                    "Regression-gate verdicts grouped by metric (colour only on a terminal)."
                ),
            ),
            lazy(
                "checks-json",
                "cxengine.default_plugins.reporters.checks:ChecksJsonReporter",
                description="Regression-gate verdicts as one JSON document.",
            ),
        ),
    ),
    "cxengine.default_plugins.reporters.junit": (
        "register_reporters",
        (
            lazy(
                "junit",
                "cxengine.default_plugins.reporters.junit:JunitReporter",
                description=(
                    "Regression-gate verdicts as JUnit XML: one test case per metric × slice."
                ),
            ),
        ),
    ),
    "cxengine.default_plugins.reporters.markdown": (
        "register_reporters",
        (
            lazy(
                "markdown",
                "cxengine.default_plugins.reporters.markdown:MarkdownReporter",
                description="Regression-gate verdicts as a Markdown summary, problems first.",
            ),
        ),
    ),
    "cxengine.default_plugins.reporters.github": (
        "register_reporters",
        (
            lazy(
                "github",
                "cxengine.default_plugins.reporters.github:GithubReporter",
                description="Regression-gate failures and warnings as GitHub Actions annotations.",
            ),
        ),
    ),
    "cxengine.engines.postgres": (
        "register_engines",
        (
            lazy(
                "postgres",
                "cxengine.engines.postgres:PostgresEngine",
                description=(
                    "PostgreSQL: specs run in the database, read-only, only aggregates fetched"
                ),
            ),
        ),
    ),
    "cxengine.engines.spark": (
        "register_engines",
        (
            lazy(
                "spark",
                "cxengine.engines.spark:SparkEngine",
                description="Apache Spark SQL: specs run in the cluster, only aggregates collected",
            ),
        ),
    ),
}


class BuiltinPlugin:
    """One built-in module's registrations, made through its hook without importing it."""

    def __init__(self, module: str, hook: str, entries: tuple[LazyEntry, ...]):
        self.module = module

        def register_entries(register: Callable[..., None]) -> None:
            for entry in entries:
                register(entry)

        register_entries.__name__ = hook
        setattr(self, hook, hookimpl(register_entries))

    def __repr__(self) -> str:
        return f"<built-in plugin {self.module}>"


def builtin_plugins() -> list[tuple[str, BuiltinPlugin]]:
    """Return every built-in plugin with the name it is registered under (its module)."""
    return [
        (module, BuiltinPlugin(module, hook, entries))
        for module, (hook, entries) in BUILTINS.items()
    ]
