"""The public plugin API: every name a plugin may import from cxengine, and nothing else.

A plugin imports from here only (`from cxengine.api import hookimpl, Kind, Estimate`);
modules elsewhere in cxengine may move or change between releases, these names do
not without a changelog entry. tests/test_api.py fails when a package under `plugins/`
imports any other cxengine module.

Names load lazily on first use (PEP 562): `from cxengine.api import hookimpl` costs
no DuckDB, sqlglot or scipy import, so a plugin's entry point stays cheap to load.

What is here:

- the hook marker `hookimpl` and `__version__`; `lazy` (a `LazyEntry`): register a kind,
  source, reporter, enricher or engine by name, imported only when it is used;
- the contracts: a kind (`Kind`) and its capabilities (`CalendarKind`, `PooledKind`,
  `CategoricalKind`, `FillsAbsentCategories`, `CategoryCounts`, `PreparedKind`,
  `DerivedKind`, `ChecksInputs`, `DerivedCounts`, `ComparableKind`), `Source`,
  `Reporter`, `Enricher`, an engine (`Engine`, `EngineSession`, `RelationOptions`,
  `NotPortable`), and what they exchange with cxengine;
- values and errors: `Estimate`, `MetricValue`, `SpecResult`, `TestResult`, `NoTest`,
  `Problem`, `CxError` and its subclasses;
- statistics and the usual significance tests from counts;
- the SQL helpers kinds need to build their counts;
- the session (`Session`): load, enrich, lock down and compute, as `cxengine run` does;
- the CLI helpers a plugin's commands share with cxengine's (`json_option`, …).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> (module, attribute in it).
_WHERE: dict[str, tuple[str, str]] = {
    # hooks
    "hookimpl": ("cxengine", "hookimpl"),
    "__version__": ("cxengine", "__version__"),
    "lazy": ("cxengine.registration", "lazy"),
    "LazyEntry": ("cxengine.registration", "LazyEntry"),
    # contracts of a kind
    "Kind": ("cxengine.interfaces", "Kind"),
    "CalendarKind": ("cxengine.interfaces", "CalendarKind"),
    "PooledKind": ("cxengine.interfaces", "PooledKind"),
    "CategoricalKind": ("cxengine.interfaces", "CategoricalKind"),
    "FillsAbsentCategories": ("cxengine.interfaces", "FillsAbsentCategories"),
    "CategoryCounts": ("cxengine.interfaces", "CategoryCounts"),
    "PreparedKind": ("cxengine.interfaces", "PreparedKind"),
    "DerivedKind": ("cxengine.interfaces", "DerivedKind"),
    "ChecksInputs": ("cxengine.interfaces", "ChecksInputs"),
    "DerivedCounts": ("cxengine.interfaces", "DerivedCounts"),
    "ComparableKind": ("cxengine.interfaces", "ComparableKind"),
    "KIND_CONTRACTS": ("cxengine.interfaces", "KIND_CONTRACTS"),
    "CompileContext": ("cxengine.interfaces", "CompileContext"),
    "Estimate": ("cxengine.interfaces", "Estimate"),
    "Exclusion": ("cxengine.interfaces", "Exclusion"),
    "MetricSpec": ("cxengine.spec.models", "MetricSpec"),
    "StrictModel": ("cxengine.spec.models", "StrictModel"),
    "Range": ("cxengine.spec.models", "Range"),
    "Scale": ("cxengine.spec.models", "Scale"),
    # other plugin types
    "Source": ("cxengine.interfaces", "Source"),
    "ReadsFiles": ("cxengine.interfaces", "ReadsFiles"),
    "SourceContext": ("cxengine.interfaces", "SourceContext"),
    "SourceData": ("cxengine.interfaces", "SourceData"),
    "Reject": ("cxengine.interfaces", "Reject"),
    "DataNote": ("cxengine.dataset.notes", "DataNote"),
    "Reporter": ("cxengine.interfaces", "Reporter"),
    "Enricher": ("cxengine.interfaces", "Enricher"),
    "EnrichRequest": ("cxengine.interfaces", "EnrichRequest"),
    "Engine": ("cxengine.engines.api", "Engine"),
    "EngineSession": ("cxengine.engines.api", "EngineSession"),
    "RelationOptions": ("cxengine.engines.api", "RelationOptions"),
    "NotPortable": ("cxengine.engines.api", "NotPortable"),
    # values
    "MetricValue": ("cxengine.compute.values", "MetricValue"),
    "SpecResult": ("cxengine.compute.values", "SpecResult"),
    "TestResult": ("cxengine.compute.stats", "TestResult"),
    "NoTest": ("cxengine.compute.stats", "NoTest"),
    "Alternative": ("cxengine.compute.stats", "Alternative"),
    "Interval": ("cxengine.compute.stats", "Interval"),
    # errors
    "Problem": ("cxengine.errors", "Problem"),
    "CxError": ("cxengine.errors", "CxError"),
    "ConfigError": ("cxengine.errors", "ConfigError"),
    "SpecError": ("cxengine.errors", "SpecError"),
    "DataError": ("cxengine.errors", "DataError"),
    "PluginError": ("cxengine.errors", "PluginError"),
    "did_you_mean": ("cxengine.errors", "did_you_mean"),
    "known_list": ("cxengine.errors", "known_list"),
    # statistics
    "wilson_interval": ("cxengine.compute.stats", "wilson_interval"),
    "mean_interval": ("cxengine.compute.stats", "mean_interval"),
    "nps_interval": ("cxengine.compute.stats", "nps_interval"),
    "nps_variance": ("cxengine.compute.stats", "nps_variance"),
    "sample_variance": ("cxengine.compute.stats", "sample_variance"),
    "two_proportion_ztest": ("cxengine.compute.stats", "two_proportion_ztest"),
    "nps_difference_test": ("cxengine.compute.stats", "nps_difference_test"),
    "welch_ttest": ("cxengine.compute.stats", "welch_ttest"),
    "compare_shares": ("cxengine.compute.comparisons", "compare_shares"),
    "compare_means": ("cxengine.compute.comparisons", "compare_means"),
    "compare_nps": ("cxengine.compute.comparisons", "compare_nps"),
    "compare_event_counts": ("cxengine.compute.comparisons", "compare_event_counts"),
    "poisson_count_test": ("cxengine.compute.comparisons", "poisson_count_test"),
    "GroupCounts": ("cxengine.differences", "GroupCounts"),
    "GroupDifference": ("cxengine.differences", "GroupDifference"),
    "group_difference": ("cxengine.differences", "group_difference"),
    # SQL helpers for kinds (sqlglot expressions)
    "lit": ("cxengine.default_plugins.aggregations.common", "lit"),
    "count_all": ("cxengine.default_plugins.aggregations.common", "count_all"),
    "count_if": ("cxengine.default_plugins.aggregations.common", "count_if"),
    "in_range": ("cxengine.default_plugins.aggregations.common", "in_range"),
    "in_values": ("cxengine.default_plugins.aggregations.common", "in_values"),
    "scale_exclusion": ("cxengine.default_plugins.aggregations.common", "scale_exclusion"),
    "as_int": ("cxengine.default_plugins.aggregations.common", "as_int"),
    "percent_of": ("cxengine.default_plugins.aggregations.common", "percent_of"),
    # SQL text helpers (for queries a plugin runs on a session's connection)
    "ident": ("cxengine.dataset.sql", "ident"),
    "text_literal": ("cxengine.dataset.sql", "lit"),
    # checks before a plugin reads a file a user named
    "outside_readable_places": ("cxengine.dataset.files", "outside_readable_places"),
    "special_kind": ("cxengine.dataset.files", "special_kind"),
    # the session and the project it computes
    "Session": ("cxengine.session", "Session"),
    "ProjectConfig": ("cxengine.config", "ProjectConfig"),
    "CommentsConfig": ("cxengine.config", "CommentsConfig"),
    "load_config": ("cxengine.config", "load_config"),
    "Registry": ("cxengine.plugins", "Registry"),
    "get_registry": ("cxengine.plugins", "get_registry"),
    "load_project_specs": ("cxengine.runner", "load_project_specs"),
    "LoadedDataset": ("cxengine.dataset.load", "LoadedDataset"),
    "EnrichmentReport": ("cxengine.enrich", "EnrichmentReport"),
    "chosen_enrichers": ("cxengine.enrich", "chosen_enrichers"),
    "enricher_options": ("cxengine.enrich", "enricher_options"),
    "tag_prefix": ("cxengine.enrich", "tag_prefix"),
    # CLI helpers for a plugin's commands
    "echo_json": ("cxengine.cli.app", "echo_json"),
    "get_state": ("cxengine.cli.app", "get_state"),
    "json_option": ("cxengine.cli.app", "json_option"),
    # sections a plugin adds to `cxengine report` (hook register_report_sections)
    "ReportSection": ("cxengine.report.sections", "ReportSection"),
    "SectionContext": ("cxengine.report.sections", "SectionContext"),
    "heatmap_chart": ("cxengine.report.charts", "heatmap"),
}

# Spelled out (not computed) so linters and type checkers see the public names.
__all__ = [
    "KIND_CONTRACTS",
    "Alternative",
    "CalendarKind",
    "CategoricalKind",
    "CategoryCounts",
    "ChecksInputs",
    "CommentsConfig",
    "ComparableKind",
    "CompileContext",
    "ConfigError",
    "CxError",
    "DataError",
    "DataNote",
    "DerivedCounts",
    "DerivedKind",
    "Engine",
    "EngineSession",
    "EnrichRequest",
    "Enricher",
    "EnrichmentReport",
    "Estimate",
    "Exclusion",
    "FillsAbsentCategories",
    "GroupCounts",
    "GroupDifference",
    "Interval",
    "Kind",
    "LazyEntry",
    "LoadedDataset",
    "MetricSpec",
    "MetricValue",
    "NoTest",
    "NotPortable",
    "PluginError",
    "PooledKind",
    "PreparedKind",
    "Problem",
    "ProjectConfig",
    "Range",
    "ReadsFiles",
    "Registry",
    "Reject",
    "RelationOptions",
    "ReportSection",
    "Reporter",
    "Scale",
    "SectionContext",
    "Session",
    "Source",
    "SourceContext",
    "SourceData",
    "SpecError",
    "SpecResult",
    "StrictModel",
    "TestResult",
    "__version__",
    "as_int",
    "chosen_enrichers",
    "compare_event_counts",
    "compare_means",
    "compare_nps",
    "compare_shares",
    "count_all",
    "count_if",
    "did_you_mean",
    "echo_json",
    "enricher_options",
    "get_registry",
    "get_state",
    "group_difference",
    "heatmap_chart",
    "hookimpl",
    "ident",
    "in_range",
    "in_values",
    "json_option",
    "known_list",
    "lazy",
    "lit",
    "load_config",
    "load_project_specs",
    "mean_interval",
    "nps_difference_test",
    "nps_interval",
    "nps_variance",
    "outside_readable_places",
    "percent_of",
    "poisson_count_test",
    "sample_variance",
    "scale_exclusion",
    "special_kind",
    "tag_prefix",
    "text_literal",
    "two_proportion_ztest",
    "welch_ttest",
    "wilson_interval",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use, and keep the name here."""
    try:
        module, attribute = _WHERE[name]
    except KeyError:
        raise AttributeError(f"cxengine.api has no name {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)


if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ loads each name
    from cxengine import __version__, hookimpl
    from cxengine.cli.app import echo_json, get_state, json_option
    from cxengine.compute.comparisons import (
        compare_event_counts,
        compare_means,
        compare_nps,
        compare_shares,
        poisson_count_test,
    )
    from cxengine.compute.stats import (
        Alternative,
        Interval,
        NoTest,
        TestResult,
        mean_interval,
        nps_difference_test,
        nps_interval,
        nps_variance,
        sample_variance,
        two_proportion_ztest,
        welch_ttest,
        wilson_interval,
    )
    from cxengine.compute.values import MetricValue, SpecResult
    from cxengine.config import CommentsConfig, ProjectConfig, load_config
    from cxengine.dataset.files import outside_readable_places, special_kind
    from cxengine.dataset.load import LoadedDataset
    from cxengine.dataset.notes import DataNote
    from cxengine.dataset.sql import ident
    from cxengine.dataset.sql import lit as text_literal
    from cxengine.default_plugins.aggregations.common import (
        as_int,
        count_all,
        count_if,
        in_range,
        in_values,
        lit,
        percent_of,
        scale_exclusion,
    )
    from cxengine.differences import GroupCounts, GroupDifference, group_difference
    from cxengine.engines.api import Engine, EngineSession, NotPortable, RelationOptions
    from cxengine.enrich import EnrichmentReport, chosen_enrichers, enricher_options, tag_prefix
    from cxengine.errors import (
        ConfigError,
        CxError,
        DataError,
        PluginError,
        Problem,
        SpecError,
        did_you_mean,
        known_list,
    )
    from cxengine.interfaces import (
        KIND_CONTRACTS,
        CalendarKind,
        CategoricalKind,
        CategoryCounts,
        ChecksInputs,
        ComparableKind,
        CompileContext,
        DerivedCounts,
        DerivedKind,
        Enricher,
        EnrichRequest,
        Estimate,
        Exclusion,
        FillsAbsentCategories,
        Kind,
        PooledKind,
        PreparedKind,
        ReadsFiles,
        Reject,
        Reporter,
        Source,
        SourceContext,
        SourceData,
    )
    from cxengine.plugins import Registry, get_registry
    from cxengine.registration import LazyEntry, lazy
    from cxengine.report.charts import heatmap as heatmap_chart
    from cxengine.report.sections import ReportSection, SectionContext
    from cxengine.runner import load_project_specs
    from cxengine.session import Session
    from cxengine.spec.models import MetricSpec, Range, Scale, StrictModel
