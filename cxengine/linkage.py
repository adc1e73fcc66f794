"""The run-time side of joined datasets, band slices and weights: what the session calls.

- `build_joins`: after the source datasets are loaded, build the joined ones (in
  dependency order), turning a refused join into a located error;
- `spec_table`: the table a spec reads — its dataset's, or a view adding its band
  labels — and the field types that go with it;
- `order_bands`: band slices in band order (0–5 min before 5–30 min);
- `weighted_result`: a spec's weighted values (`<name>_weighted`), when it has `weights:`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from cxengine.bands import banded_view, slice_order
from cxengine.errors import SpecError
from cxengine.weighting.apply import WeightedResult, companion_spec, compute_weighted, weights_of

if TYPE_CHECKING:
    import duckdb

    from cxengine.compute.values import MetricValue
    from cxengine.config import ProjectConfig
    from cxengine.dataset.join import JoinCounts
    from cxengine.dataset.load import LoadedDataset
    from cxengine.interfaces import Kind
    from cxengine.spec.loader import LoadedSpec
    from cxengine.spec.models import MetricSpec


def build_joins(
    con: duckdb.DuckDBPyConnection,
    project: ProjectConfig,
    loaded: dict[str, LoadedDataset],
    joins: list[str],
) -> dict[str, JoinCounts]:
    """Build each joined dataset into `loaded`; return how each one's sides matched.

    A join that cannot be made as declared (keys, a fan-out with `expect: one`)
    raises SpecError located at its `join:` block in cxengine.yaml.
    """
    from cxengine.dataset.join import JoinError, join_datasets

    counts: dict[str, JoinCounts] = {}
    for name in joins:
        cfg = project.model.datasets[name].join
        assert cfg is not None
        try:
            joined = join_datasets(con, name, cfg, loaded[cfg.from_], loaded[cfg.to])
        except JoinError as exc:
            path = ("datasets", name, "join", *exc.path)
            raise SpecError([project.positions.problem(path, exc.message)]) from None
        loaded[name] = joined.dataset
        counts[name] = joined.counts
    return counts


def spec_table(
    con: duckdb.DuckDBPyConnection, spec: MetricSpec, table: str, fields: Mapping[str, str]
) -> tuple[str, dict[str, str]]:
    """Return the table a spec reads (with its band label columns) and its field types."""
    return banded_view(con, spec.name, spec.bands, table, fields)


def order_bands(spec: MetricSpec, values: list[MetricValue]) -> None:
    """Sort values in place as the engine does, but band slices in band order.

    A `drivers` spec's levels come per factor (in the spec's order), largest effect
    first, so a report lists them as the kind promises.
    """
    from cxengine.default_plugins.aggregations.drivers import CATEGORY_KEY, DriversSpec

    drivers = isinstance(spec, DriversSpec)
    if not spec.bands and not drivers:
        return
    factors = spec.factor_names() if isinstance(spec, DriversSpec) else []

    def driver_key(v: MetricValue) -> tuple[Any, ...]:
        label = str(v.slice.get(CATEGORY_KEY, ""))
        factor = label.split(" = ", 1)[0]
        index = factors.index(factor) if factor in factors else len(factors)
        rank = v.counts.get("rank")
        return (index, rank if isinstance(rank, int | float) else float("inf"), label)

    def key(v: MetricValue) -> tuple[Any, ...]:
        rest = {k: x for k, x in v.slice.items() if k != CATEGORY_KEY} if drivers else v.slice
        return (
            v.period is not None,
            v.period or date.min,
            bool(rest),
            slice_order(spec.bands, v.slice),
            json.dumps(rest, sort_keys=True, ensure_ascii=False, default=str),
            driver_key(v) if drivers else (),
            v.slice_key,
        )

    values.sort(key=key)


def weighted_result(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    kind: Kind,
    table: str,
    fields: Mapping[str, str],
    datasets: Mapping[str, LoadedDataset],
    zones: Mapping[str, str] | None = None,
) -> WeightedResult | None:
    """Return the spec's weighted values, or None when it declares no `weights:`."""
    weights = weights_of(spec)
    if weights is None:
        return None
    population = None
    if weights.population is not None:
        population = datasets[weights.population].table
    result = compute_weighted(
        con, spec, kind, table, fields, population=population, field_zones=zones
    )
    order_bands(spec, result.values)
    return result


def companions(specs: list[LoadedSpec]) -> list[LoadedSpec]:
    """Return the `<name>_weighted` spec of each weighted spec, located like its spec.

    They are what the results database lists in `metrics` and what the CI gate judges,
    so a weighted value has a title, a kind and a regression rule like any other.
    """
    return [
        dataclasses.replace(s, spec=companion_spec(s.spec))
        for s in specs
        if weights_of(s.spec) is not None
    ]


def population_datasets(specs: list[LoadedSpec]) -> set[str]:
    """Return the population datasets weighted specs take their margins from."""
    out = set()
    for s in specs:
        w = weights_of(s.spec)
        if w is not None and w.population is not None:
            out.add(w.population)
    return out
